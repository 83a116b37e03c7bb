// A developer drops zips that cannot be reviewed: each is refused on the page with the message and one finding
// a line (`file:line` and what is wrong), naming the zip they chose; then asks for a plugin id someone else
// holds and gets the form back with what they typed, to fix rather than type again.
"use strict";
const { journey } = require("./common.js");

journey("bad_uploads", async ({ base, params, done, person, shoot, signIn, expectFailure }) => {
  const { page } = await person();
  expectFailure("/dev/upload");
  await signIn(page, base, "bob");
  const refusals = {};
  for (const [name, file] of Object.entries(params.files)) {
    await page.goto(base + "/dev");
    await page.getByTestId("bundle-input").setInputFiles(file);
    const status = page.locator("[data-upload-status]");
    await status.and(page.locator(".error")).waitFor();
    const items = await page.getByTestId("upload-findings").locator("li").allTextContents().catch(() => []);
    refusals[name] = { text: await status.innerText(), items, url: page.url() };
    await shoot(page, `dev-upload-refused-${name}`);
  }
  done.push("refused");

  await page.goto(base + "/dev/new");
  await page.getByTestId("plugin-id").fill(params.takenId);
  await page.getByLabel(/slash/).check();
  await page.getByTestId("create-plugin").click();
  await page.getByTestId("flash").waitFor();
  const kept = {
    flash: await page.getByTestId("flash").textContent(),
    id: await page.getByTestId("plugin-id").inputValue(),
    slash: await page.getByLabel(/slash/).isChecked(),
  };
  await shoot(page, "dev-new-taken-id");
  done.push("taken id kept");
  return { refusals, kept };
});

// Someone follows a stale or mistyped link: the console answers with its own page (navigation, what is wrong,
// a way back), not a bare "404: Not Found", and a guild id that cannot exist is not offered a console.
"use strict";
const { journey } = require("./common.js");

journey("lost", async ({ base, done, person, shoot, signIn, expectFailure }) => {
  const { page } = await person();
  await signIn(page, base, "erin");  // a platform admin: every guild's console is open to her
  const seen = {};
  for (const [name, path] of [["unknown", "/plugins-that-do-not-exist"], ["guild", "/servers/not-a-guild"]]) {
    expectFailure(path);
    const resp = await page.goto(base + path);
    const error = page.getByTestId("error");
    seen[name] = {
      status: resp.status(),
      title: await error.locator("h1").textContent().catch(() => null),
      text: await error.innerText().catch(() => null),
      nav: await page.getByRole("navigation", { name: "Main" }).isVisible(),
      install: await page.getByRole("link", { name: /^Install/ }).count(),
    };
    await shoot(page, `lost-${name}`);
  }
  done.push("refused");
  await page.getByTestId("error").getByRole("link", { name: "Home" }).click();
  await page.waitForURL(base + "/");
  done.push("back home");
  return { seen };
});

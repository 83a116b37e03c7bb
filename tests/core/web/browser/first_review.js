// A reviewer opens a plugin's first version: its capabilities are all new, said as a note with the highest
// tier, not as the red "higher tier" alarm an upgrade gets.
"use strict";
const { journey } = require("./common.js");

journey("first_review", async ({ base, params, done, person, shoot, signIn }) => {
  const { page } = await person();
  await signIn(page, base, "carol");
  await page.goto(`${base}/review/${params.plugin}/${params.version}`);
  const card = page.getByTestId("capability-changes");
  await card.waitFor();
  const result = {
    note: await card.getByTestId("first-version").textContent().catch(() => null),
    alarms: await card.locator(".flash.error").count(),
  };
  await shoot(page, "review-first-version");
  done.push("read");
  return result;
});

// A reviewer reads a version that shifts tier: the capability changes, the findings, the diff against the
// published version and the highlighted files; approves it with a note; the developer reads the note.
"use strict";
const { journey } = require("./common.js");

journey("reviewer", async ({ base, params, done, person, shoot, signIn }) => {
  const { page } = await person();
  await signIn(page, base, "carol");
  await shoot(page, "home-reviewer");
  await page.getByRole("link", { name: "Review queue" }).click();
  const queued = await page.getByTestId("queue-item").allTextContents();
  await shoot(page, "review-queue");
  await page.getByTestId("queue-item").filter({ hasText: "kv_counter 1.1.0" }).getByRole("link").click();
  const added = await page.getByTestId("cap-added").allTextContents();
  const diff = await page.getByTestId("diff").textContent();
  const highlighted = await page.locator('[data-testid="files"] .code .k, [data-testid="files"] .code .kn').count();
  const diffLines = await page.locator('[data-testid="diff"] .gi').allTextContents();
  await shoot(page, "review-version");
  done.push("read");

  await page.getByTestId("review-note-input").fill("Checked: manage_roles only gives the Counter role.");
  await page.getByTestId("approve").click();
  await page.getByTestId("flash").filter({ hasText: "kv_counter 1.1.0 approved" }).waitFor();
  await page.getByTestId("queue-empty").waitFor();
  await shoot(page, "review-queue-empty");
  done.push("approved");

  const dev = await person();
  await signIn(dev.page, base, "bob");
  await dev.page.goto(`${base}/dev/plugins/kv_counter/versions/1.1.0`);
  const note = await dev.page.getByTestId("review-note").textContent();
  await dev.page.getByTestId("publish").waitFor();
  await shoot(dev.page, "dev-version-reviewed");
  done.push("developer sees the note");

  // the counter ran on the demo guild: its metrics page charts the platform's counters for it
  await dev.page.goto(`${base}/dev/plugins/kv_counter/metrics?period=1h`);
  await dev.page.locator('[data-testid="metric-chart"] svg').first().waitFor();
  const metrics = await dev.page.locator('[data-testid="metric-chart"] h2').allTextContents();
  await shoot(dev.page, "dev-metrics-charts");
  await dev.page.goto(`${base}/dev/plugins/kv_counter`);
  const installedOn = await dev.page.getByTestId("installed-on").textContent();
  done.push("metrics");
  return { queued, added, diff, highlighted, diffLines, note, metrics, installedOn };
});

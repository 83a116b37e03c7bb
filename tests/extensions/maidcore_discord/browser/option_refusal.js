// Run a slash command with an option that does not fit its type, then a valid action: the page shows
// Discord's refusal, then clears it (never a stale error).
// Usage: node option_refusal.js <page url> <chromium path> <user data dir> <screenshot path>
"use strict";
const { chromium } = require("playwright-core");

const [url, executablePath, userDataDir, screenshot] = process.argv.slice(2);
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
const errors = [];

async function send(page, text) {
  await page.getByTestId("composer").fill(text);
  await page.getByTestId("composer").press("Enter");
}

async function main() {
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: ARGS });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(20000);
  const error = page.getByTestId("error");
  try {
    await page.goto(url);
    await page.getByTestId("status").filter({ hasText: "live" }).waitFor();
    await page.getByTestId("user").selectOption({ label: "Bob" });

    await send(page, "/cleanup count:abc");
    await error.filter({ hasText: "count" }).waitFor();
    errors.push(await error.textContent());

    await send(page, "/cleanup count:0");
    await error.filter({ hasText: "at least" }).waitFor();
    errors.push(await error.textContent());

    await send(page, "hello after the refusals");
    await page.getByTestId("content").filter({ hasText: "hello after the refusals" }).waitFor();
    errors.push(await error.textContent());
    console.log(JSON.stringify({ ok: true, errors }));
  } catch (err) {
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    console.log(JSON.stringify({ ok: false, errors, error: String(err && err.message || err) }));
    process.exitCode = 1;
  } finally {
    await context.close();
  }
}

main();

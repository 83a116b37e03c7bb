// Drive the emulator page as a person: post !ping, click "Again", fill the modal, run /ping.
// Usage: node ping_pong.js <page url> <chromium path> <user data dir> <screenshot path>
"use strict";
const { chromium } = require("playwright-core");

const [url, executablePath, userDataDir, screenshot] = process.argv.slice(2);
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
const steps = [];

async function main() {
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: ARGS });
  const page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(20000);
  try {
    await page.goto(url);
    await page.getByTestId("status").filter({ hasText: "live" }).waitFor();
    await page.getByTestId("user").selectOption({ label: "Bob" });
    steps.push("opened");

    await page.getByTestId("composer").fill("!ping");
    await page.getByTestId("composer").press("Enter");
    const pong = page.getByTestId("message").filter({ hasText: "Pong!" }).filter({ has: page.getByTestId("button-pingpong:again") });
    await pong.first().waitFor();
    steps.push("pong");

    await pong.first().getByTestId("button-pingpong:again").click();
    await page.getByTestId("modal").waitFor({ state: "visible" });
    const title = await page.locator("#modal-title").textContent();
    await page.getByTestId("field-comment").fill("sent from Chromium");
    await page.getByTestId("modal-submit").click();
    await page.getByTestId("content").filter({ hasText: "Thanks: sent from Chromium" }).waitFor();
    steps.push(`modal:${title}`);

    page.once("dialog", (dialog) => dialog.accept("🎉"));
    await page.getByTestId("message").filter({ hasText: "!ping" }).first().getByTestId("react").click();
    await page.getByTestId("message").filter({ hasText: "!ping" }).first().getByText("🎉 1").waitFor();
    steps.push("react");

    await page.getByTestId("composer").fill("/ping");
    await page.getByTestId("composer").press("Enter");
    await page.getByTestId("message").filter({ hasText: "used /ping" }).filter({ hasText: "Pong!" }).waitFor();
    steps.push("slash");

    const messages = await page.getByTestId("content").allTextContents();
    const members = await page.getByTestId("member").count();
    console.log(JSON.stringify({ ok: true, steps, messages, members }));
  } catch (err) {
    await page.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
    console.log(JSON.stringify({ ok: false, steps, error: String(err && err.message || err) }));
    process.exitCode = 1;
  } finally {
    await context.close();
  }
}

main();

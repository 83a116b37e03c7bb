// Shared by the console journeys: launch Chromium, sign in through the emulator's OAuth2 page, screenshot pages.
"use strict";
const { chromium } = require("playwright-core");
const path = require("path");

const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync"];
const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function launch(executablePath) {
  return chromium.launch({ executablePath, headless: true, args: ARGS });
}

/** A fresh browser context (its own cookies) and page, with console errors collected. */
async function person(browser) {
  const context = await browser.newContext({ viewport: LAPTOP });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const problems = [];
  // script errors, and subresources (scripts, styles, fetches) that failed; refused pages are asserted by the journeys
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) problems.push(msg.text());
  });
  page.on("pageerror", (err) => problems.push(String(err)));
  page.on("response", (resp) => {
    const kind = resp.request().resourceType();
    if (resp.status() >= 400 && kind !== "document" && !resp.url().includes("/oauth2/")) problems.push(`${resp.status()} ${kind} ${resp.url()}`);
  });
  return { context, page, problems };
}

/** Sign in with Discord: the console's button, the emulator's authorize page, pick `username`, Authorize. */
async function signIn(page, base, username, shootAuthorize) {
  await page.goto(base + "/");
  await page.getByTestId("sign-in").click();
  await page.getByTestId(`oauth-user-${username}`).waitFor();
  if (shootAuthorize) await shootAuthorize(page);
  await page.getByTestId(`oauth-user-${username}`).check();
  await page.getByTestId("oauth-authorize").click();
  await page.getByTestId("signed-in-as").waitFor();
}

/** Form controls on the page that no label names (a console page must have none). */
async function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button")]
    .filter((el) => el.type !== "hidden" && !el.closest("[hidden]"))
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label") && !el.getAttribute("aria-labelledby")
      && !(el.tagName === "BUTTON" && el.textContent.trim()))
    .map((el) => `${el.tagName.toLowerCase()}#${el.id || el.name || "?"}`));
}

/** Screenshots of the page as it is now at laptop and phone widths, named `<name>-laptop.png` / `-phone.png`. */
async function shoot(page, dir, name, shots, problems) {
  const missing = await unlabelled(page);
  if (missing.length && problems) problems.push(`${name}: controls without a label: ${missing.join(", ")}`);
  for (const [label, size] of [["laptop", LAPTOP], ["phone", PHONE]]) {
    await page.setViewportSize(size);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.waitForTimeout(200);
    const file = path.join(dir, `${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
  }
  await page.setViewportSize(LAPTOP);
}

/** Run `steps(ctx)`; print one JSON line with ok, steps done and screenshots; a failure screenshots the page. */
async function journey(name, steps) {
  const [base, executablePath, dir, paramsJson] = process.argv.slice(2);
  const params = JSON.parse(paramsJson || "{}");
  const done = [];
  const shots = [];
  const browser = await launch(executablePath);
  const pages = [];
  const expected = [];
  const labelProblems = [];
  const ctx = {
    base, dir, params, done, shots, browser,
    /** A failing request the journey causes on purpose (a refused form), matched by URL part. */
    expectFailure(part) { expected.push(part); },
    async person() { const p = await person(browser); pages.push(p); return p; },
    shoot: (page, label) => shoot(page, dir, label, shots, labelProblems),
    signIn,
  };
  let result;
  try {
    const extra = await steps(ctx);
    const problems = [...labelProblems, ...pages.flatMap((p) => p.problems)]
      .filter((p) => !expected.some((part) => p.includes(part)));
    result = { ok: true, steps: done, shots, problems, ...(extra || {}) };
  } catch (err) {
    for (const [i, p] of pages.entries()) {
      const file = path.join(dir, `${name}-failure-${i}.png`);
      await p.page.screenshot({ path: file, fullPage: true }).catch(() => {});
      shots.push(file);
    }
    result = { ok: false, steps: done, shots, error: String((err && err.stack) || err), url: pages.map((p) => p.page.url()) };
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
}

module.exports = { journey, LAPTOP, PHONE };

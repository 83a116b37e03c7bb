// An iframe dashboard: the plugin's dashboard/index.html runs in a sandboxed frame, reads its data through the
// console's postMessage bridge, and is refused the console's cookies, DOM and API; its files opened directly
// are sandboxed just the same.
"use strict";
const { journey } = require("./common.js");

journey("iframe", async ({ base, params, done, person, shoot, signIn, expectFailure }) => {
  // the frame's own probes of the console API, refused by its CSP (Chromium reports each twice)
  expectFailure("Refused to connect because it violates the document's Content Security Policy");
  expectFailure(`Content Security Policy directive: "connect-src 'none'"`);
  expectFailure("Blocked a frame");  // its probe of the console's DOM
  const { page } = await person();
  await signIn(page, base, "alice");
  await page.goto(`${base}/servers/${params.guild}`);  // the guild's installs link to the dashboard
  await page.locator(`a[href$="/plugins/iframe_board/dashboard"]`).click();
  await page.waitForURL(/\/plugins\/iframe_board\/dashboard$/);
  const frameEl = page.getByTestId("dashboard-frame");
  const out = {
    sandbox: await frameEl.getAttribute("sandbox"),
    src: await frameEl.getAttribute("src"),
  };
  const frame = page.frameLocator('[data-testid="dashboard-frame"]');
  await frame.locator("body[data-done]").waitFor();
  out.members = await frame.getByTestId("members").textContent();
  out.asked = await frame.getByTestId("asked").textContent();
  out.broken = await frame.getByTestId("broken").textContent();
  out.probes = JSON.parse(await frame.getByTestId("probes").textContent());
  await page.waitForFunction(() => document.querySelector("[data-dashboard-frame]").style.height !== "");
  out.frameHeight = await frameEl.evaluate((el) => el.getBoundingClientRect().height);
  out.heading = await frame.locator("h1").evaluate((el) => getComputedStyle(el).color);  // style.css applied
  await shoot(page, "dashboard-iframe");
  done.push("bridge");

  // A message from somewhere other than the frame (the console page itself here) is not answered.
  out.foreign = await page.evaluate(() => new Promise((resolve) => {
    let answered = false;
    window.addEventListener("message", (e) => { if (e.data && e.data.type === "maidcore.rpc.result") answered = true; });
    window.postMessage({ type: "maidcore.rpc", id: "x", method: "summary", params: {} }, "*");
    setTimeout(() => resolve(answered), 1000);
  }));
  done.push("foreign message ignored");

  // The frame's page opened as a top-level page is still sandboxed: an opaque origin with no cookies.
  const ctxPage = await page.context().newPage();
  await ctxPage.goto(new URL(out.src, base).href);
  out.direct = await ctxPage.evaluate(() => {
    let cookie;
    try { cookie = "allowed: " + document.cookie; } catch (err) { cookie = "refused: " + err.name; }
    return { origin: String(self.origin), cookie };
  });
  await ctxPage.close();
  done.push("direct");
  return out;
});

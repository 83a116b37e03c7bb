// A server admin installs a plugin with a subset of its capabilities; the plugin hits the missing one when a
// person uses it in the emulator; the permission request appears on the open console page by itself; Grant
// makes the next call work. Then disable, enable, and the plugin's live logs for the guild.
"use strict";
const { journey } = require("./common.js");

journey("server_admin", async ({ base, params, done, person, shoot, signIn }) => {
  const { page } = await person();
  await signIn(page, base, "alice");
  await shoot(page, "home-server-admin");
  await page.getByRole("link", { name: "Servers" }).click();
  await shoot(page, "servers");
  await page.getByTestId("managed-servers").getByRole("link", { name: "maidcore demo" }).click();
  await page.getByTestId("install-kv_counter").click();
  await page.getByTestId("picker").waitFor();
  const picker = await page.getByTestId("picker").textContent();
  await shoot(page, "admin-capability-picker");
  await page.getByTestId("pick-storage:kv").click(); // untick: approve only discord:send_message
  await page.getByTestId("install-submit").click();
  await page.getByTestId("flash").filter({ hasText: "Installed kv_counter" }).waitFor();
  const blocked = await page.locator('[data-testid="grants"] [data-capability="storage:kv"]').getAttribute("class");
  await shoot(page, "admin-install");
  done.push("installed with a subset");

  // the guild page stays open; the request must arrive on it live
  await page.getByRole("link", { name: "maidcore demo" }).click();
  await page.locator('[data-live][data-connected="true"]').waitFor();
  await page.evaluate(() => { window.__notReloaded = true; });

  const emulator = await person();
  await emulator.page.goto(params.emulator);
  await emulator.page.getByTestId("status").filter({ hasText: "live" }).waitFor();
  await emulator.page.getByTestId("user").selectOption({ label: "Alice" });
  await emulator.page.getByTestId("composer").fill("!count");
  await emulator.page.getByTestId("composer").press("Enter");
  await emulator.page.getByTestId("content").filter({ hasText: "I need permission: storage:kv" }).waitFor();
  done.push("call refused");

  const request = page.getByTestId("permission-request").filter({ hasText: "storage:kv" });
  await request.waitFor();
  const stats = await request.getByTestId("request-stats").textContent();
  const text = await request.textContent();
  const live = await page.evaluate(() => window.__notReloaded === true);
  await shoot(page, "admin-permission-request");
  done.push("request appeared live");

  await request.getByTestId("grant-request").click();
  await page.getByTestId("flash").filter({ hasText: "Granted storage:kv" }).waitFor();
  await page.getByTestId("no-requests").waitFor();
  await shoot(page, "admin-request-granted");
  await emulator.page.getByTestId("composer").fill("!count");
  await emulator.page.getByTestId("composer").press("Enter");
  await emulator.page.getByTestId("content").filter({ hasText: "count is 1" }).waitFor();
  done.push("granted call works");

  await page.goto(`${base}/servers/${params.guild}/plugins/kv_counter`);
  await page.getByTestId("log-line").filter({ hasText: "counted 1" }).waitFor();
  await page.locator('[data-testid="logs"][data-connected="true"]').waitFor();
  await emulator.page.getByTestId("composer").fill("!count");
  await emulator.page.getByTestId("composer").press("Enter");
  await page.getByTestId("log-line").filter({ hasText: "counted 2" }).waitFor(); // arrives on the open page
  await shoot(page, "admin-install-logs");
  done.push("live logs");

  await page.getByTestId("toggle-enabled").click();
  await page.getByTestId("install-state").filter({ hasText: "disabled" }).waitFor();
  await page.getByTestId("toggle-enabled").click();
  await page.getByTestId("install-state").filter({ hasText: "enabled" }).waitFor();
  done.push("disable and enable");
  return { picker, blocked, stats, text, live };
});

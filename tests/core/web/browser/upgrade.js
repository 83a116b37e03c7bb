// The server admin sees the pending upgrade with its capability diff, approves it, then uninstalls the plugin.
"use strict";
const { journey } = require("./common.js");

journey("upgrade", async ({ base, params, done, person, shoot, signIn }) => {
  const { page } = await person();
  await signIn(page, base, "alice");
  await page.goto(`${base}/servers/${params.guild}`);
  const upgrade = page.getByTestId("pending-upgrade").filter({ hasText: "1.0.0 → 1.1.0" });
  const text = await upgrade.textContent();
  await shoot(page, "admin-pending-upgrade");
  await upgrade.getByTestId("approve-upgrade").click();
  await page.getByTestId("flash").filter({ hasText: "Upgraded kv_counter to 1.1.0" }).waitFor();
  done.push("upgraded");

  await page.goto(`${base}/servers/${params.guild}/plugins/kv_counter`);
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByTestId("uninstall").click();
  await page.getByTestId("flash").filter({ hasText: "Uninstalled kv_counter" }).waitFor();
  const installs = await page.getByTestId("installs").textContent();
  done.push("uninstalled");
  return { text, installs };
});

// A developer signs in, creates a plugin, uploads (drag and drop) a zip with a finding, reads it with its
// file:line and fix hint, uploads the fix, publishes, sets a default secret, looks at logs, metrics and dead
// letters, makes an API token, finds the plugin in the marketplace, and is refused the admin pages.
"use strict";
const fs = require("fs");
const { journey } = require("./common.js");

journey("developer", async ({ base, params, done, person, shoot, signIn }) => {
  const { page } = await person();
  await page.goto(base + "/");
  await shoot(page, "home-signed-out");
  await signIn(page, base, "bob", (authorize) => shoot(authorize, "emulator-oauth-authorize"));
  await shoot(page, "home-developer");
  done.push("signed-in");

  await page.getByRole("link", { name: "Developer Portal" }).click();
  await page.getByTestId("new-plugin").click();
  await page.getByTestId("plugin-id").fill("greeter");
  await page.getByLabel(/slash/).check();
  await shoot(page, "dev-new-plugin");
  await page.getByTestId("create-plugin").click();
  await page.getByTestId("starter").waitFor();
  const href = await page.getByRole("link", { name: "Download the starter project" }).getAttribute("href");
  const starter = await page.request.get(base + href);
  if (starter.status() !== 200 || starter.headers()["content-type"] !== "application/zip") throw new Error("no starter zip");
  await shoot(page, "dev-plugin-created");
  done.push("created");

  // drag and drop the zip with a forbidden import onto the drop zone
  const bad = fs.readFileSync(params.bad).toString("base64");
  await page.getByTestId("dropzone").evaluate((zone, data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "greeter-0.1.0.zip", { type: "application/zip" }));
    zone.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, bad);
  await page.waitForURL(/\/dev\/plugins\/greeter\/versions\/0\.1\.0$/);
  const finding = page.getByTestId("finding").filter({ hasText: "socket" });
  const where = await finding.getByTestId("finding-where").textContent();
  const hint = await finding.getByTestId("finding-hint").textContent();
  const status = await page.getByTestId("status").first().textContent();
  await shoot(page, "dev-version-rejected");
  done.push("finding");

  // the fix, chosen with the file picker this time
  await page.getByRole("link", { name: "Overview" }).click();
  await page.getByTestId("bundle-input").setInputFiles(params.fixed);
  await page.waitForURL(/\/dev\/plugins\/greeter\/versions\/0\.1\.0$/);
  await page.getByTestId("publish").waitFor();
  await shoot(page, "dev-version-approved");
  await page.getByTestId("publish").click();
  await page.getByTestId("flash").filter({ hasText: "Published greeter 0.1.0" }).waitFor();
  const versions = await page.getByTestId("versions").textContent();
  await shoot(page, "dev-plugin-published");
  done.push("published");

  await page.getByRole("link", { name: "Secrets" }).click();
  await page.getByTestId("secret-key").fill("api_key");
  await page.getByTestId("secret-value").fill("s3cret-value");
  await page.getByTestId("secret-save").click();
  await page.getByTestId("secret-keys").filter({ hasText: "api_key" }).waitFor();
  const secretsPage = await page.content();
  await shoot(page, "dev-secrets");
  for (const tab of ["Logs", "Metrics", "Dead letters"]) {
    await page.getByRole("navigation", { name: "greeter" }).getByRole("link", { name: tab }).click();
    await page.waitForLoadState();
    await shoot(page, "dev-" + tab.toLowerCase().replace(" ", "-"));
  }
  done.push("operations");

  await page.getByRole("link", { name: "Developer Portal" }).first().click();
  await page.getByRole("button", { name: "Create a token" }).click();
  const token = await page.getByTestId("new-token").textContent();
  await shoot(page, "dev-token");
  done.push("token");

  await page.getByRole("link", { name: "Marketplace" }).click();
  await page.getByTestId("plugin-card").filter({ hasText: "Greeter" }).getByRole("link").click();
  const caps = await page.getByTestId("capabilities").textContent();
  await shoot(page, "marketplace-plugin");
  await page.goto(base + "/marketplace");
  await shoot(page, "marketplace");
  done.push("marketplace");

  await page.goto(`${base}/servers/${params.guild}`);
  const refusedServer = await page.getByTestId("error").textContent();
  await shoot(page, "refused-server-admin-page");
  await page.goto(`${base}/review`);
  const refusedReview = await page.getByTestId("error").textContent();
  done.push("refused");
  return { where, hint, status, versions, secretShown: secretsPage.includes("s3cret-value"), token, caps, refusedServer, refusedReview };
});

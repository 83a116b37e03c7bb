// A platform admin finds the Cluster page in the navigation; on a node without a coordinator it says the node
// runs alone. A server admin has no such link.
"use strict";
const { journey } = require("./common.js");

journey("cluster", async ({ base, done, person, shoot, signIn }) => {
  const { page } = await person();
  await signIn(page, base, "erin");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Cluster" }).click();
  await page.waitForURL(base + "/cluster");
  const alone = await page.getByTestId("no-cluster").innerText();
  await shoot(page, "cluster-alone");
  done.push("admin sees it");
  const other = await person();
  await signIn(other.page, base, "alice");
  const links = await other.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Cluster" }).count();
  done.push("server admin has no link");
  return { alone, links };
});

// A plugin dashboard with every widget and field kind: each widget shows its data from the plugin (one shows
// its handler's error), the form loads, saves through the save handler and keeps the values, schema 2 widgets
// render, and a plain member sees only what is open to members.
"use strict";
const { journey } = require("./common.js");

async function loaded(page) {
  await page.waitForFunction(() => {
    const widgets = [...document.querySelectorAll("[data-widget]")].filter((w) => w.dataset.type !== "action_button");
    return widgets.length > 0 && widgets.every((w) => w.dataset.state);
  });
}

journey("dashboard", async ({ base, params, done, person, shoot, signIn, expectFailure }) => {
  const { page } = await person();
  await signIn(page, base, "alice");
  const url = `${base}/servers/${params.guild}/plugins/widget_gallery/dashboard`;
  await page.goto(url);
  await loaded(page);
  const read = (testid) => page.getByTestId(testid).allTextContents();
  const out = {
    stats: await read("widget-stat_card"),
    charts: await page.locator('[data-testid="widget-chart"] svg').count(),
    pieSlices: await page.locator('[data-testid="widget-chart"] svg.pie path').count(),
    table: await read("widget-table"),
    text: await read("widget-text"),
    alert: await read("widget-alert"),
    progress: await read("widget-progress_bar"),
    list: await read("widget-list"),
    markdownHtml: await page.getByTestId("widget-markdown").first().innerHTML(),
    errors: await page.getByTestId("widget-error").allTextContents(),
    refreshing: await page.locator('[data-widget][data-refresh="30"]').count(),
  };
  await page.getByTestId("widget-form").locator('[data-field="greeting"] input').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-field="greeting"] input').value !== "");
  out.loadedGreeting = await page.locator('[data-field="greeting"] input').inputValue();
  out.channels = await page.locator('[data-field="log_channel"] option').allTextContents();
  await shoot(page, "dashboard-overview");
  done.push("widgets");

  const form = page.getByTestId("widget-form");
  await form.getByLabel("Greeting").fill("Hi there");
  await form.getByLabel("Rules").fill("No spam.");
  await form.getByLabel("Max warnings").fill("5");
  await form.getByLabel("Enabled").uncheck();
  await form.getByLabel("Accent colour").fill("#e8833a");
  await form.getByLabel("Season start").fill("2026-03-01");
  await form.getByLabel("Volume").fill("80");
  await form.getByLabel("Language").selectOption("fr");
  await form.getByLabel("Quests").check();
  await form.getByLabel("Log channel").selectOption({ label: "#general" });
  await form.getByLabel("Moderator role").selectOption({ label: "@Moderator" });
  await form.getByTestId("form-save").click();
  await form.locator(".form-status.ok").waitFor();
  out.saved = await form.locator(".form-status").textContent();
  await shoot(page, "dashboard-form-saved");
  await page.reload();
  await loaded(page);
  await page.waitForFunction(() => document.querySelector('[data-field="greeting"] input').value === "Hi there");
  out.reloaded = {
    greeting: await form.getByLabel("Greeting").inputValue(),
    enabled: await form.getByLabel("Enabled").isChecked(),
    language: await form.getByLabel("Language").inputValue(),
    quests: await form.getByLabel("Quests").isChecked(),
  };
  await form.getByLabel("Greeting").fill("");
  expectFailure("/widgets/w15/save"); // the refused save answers 400 on purpose
  await form.getByTestId("form-save").click();
  await form.locator(".form-status.error").waitFor();
  out.refused = await form.locator(".form-status").textContent();
  done.push("form");

  await page.getByRole("link", { name: "More widgets" }).click();
  await loaded(page);
  out.more = {
    heading: await read("widget-heading"),
    image: await page.getByTestId("widget-image").locator("img").getAttribute("alt"),
    keyValue: await read("widget-key_value"),
    timeline: await read("widget-timeline"),
    badges: await read("widget-badge_list"),
    users: await read("widget-user_list"),
    divider: await page.getByTestId("widget-divider").count(),
    section: await read("widget-section"),
  };
  await page.getByRole("tab", { name: "Second tab" }).click();
  out.tab = await page.getByRole("tabpanel").filter({ hasText: "Season 3" }).textContent();
  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Reset season" }).click();
  await page.getByTestId("widget-action_button").locator(".form-status.ok").waitFor();
  out.action = await page.getByTestId("widget-action_button").locator(".form-status").textContent();
  await shoot(page, "dashboard-schema2");
  done.push("schema 2");

  const member = await person();
  await signIn(member.page, base, "bob");
  await member.page.goto(url);
  await loaded(member.page);
  out.member = {
    titles: await member.page.locator("[data-widget] h3").allTextContents(),
    forms: await member.page.getByTestId("widget-form").count(),
  };
  const hidden = await member.page.request.get(`${url}/widgets/w4`);
  out.member.hiddenStatus = hidden.status();
  await shoot(member.page, "dashboard-member");
  done.push("member view");
  return out;
});

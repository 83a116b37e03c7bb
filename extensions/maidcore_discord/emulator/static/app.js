// The emulator page: act as a person in the guild. State comes from /_emulator/api/state and is
// re-read whenever the emulator reports a change on its live websocket.
"use strict";

const $ = (sel) => document.querySelector(sel);
const view = { state: null, guild: null, channel: null, user: null, modal: null };
const answeredModals = new Set();

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child.nodeType ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(action, body) {
  $("#error").textContent = "";  // a new action: the last one's error no longer applies
  const response = await fetch(`/_emulator/api/${action}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  let data;
  try {
    data = await response.json();
  } catch {
    data = { message: response.statusText || "the emulator sent an unreadable answer" };
  }
  if (!response.ok) {
    $("#error").textContent = `${response.status}: ${data.message}`;
    throw new Error(data.message);
  }
  $("#error").textContent = "";
  return data;
}

const guild = () => view.state.guilds.find((g) => g.id === view.guild);
const userName = (id) => (view.state.users[id] || {}).username || id;

async function refresh() {
  const response = await fetch("/_emulator/api/state");
  view.state = await response.json();
  if (!view.guild || !guild()) view.guild = (view.state.guilds[0] || {}).id;
  const g = guild();
  if (!g) return;
  const texts = g.channels.filter((c) => [0, 5, 11, 12].includes(c.type));
  if (!texts.find((c) => c.id === view.channel)) view.channel = (texts[0] || {}).id;
  const humans = g.members.filter((m) => !m.user.bot);
  if (!humans.find((m) => m.user.id === view.user)) view.user = (humans[0] || { user: {} }).user.id;
  const pending = view.state.modals.find((m) => m.user_id === view.user);
  if (pending && !$("#modal").open) openModal(pending);
  render();
}

let timer = null;
function refreshSoon() {
  clearTimeout(timer);
  timer = setTimeout(refresh, 30);
}

function render() {
  const g = guild();
  $("#guild").replaceChildren(...view.state.guilds.map((x) => el("option", { value: x.id, selected: x.id === view.guild }, x.name)));
  $("#user").replaceChildren(...g.members.filter((m) => !m.user.bot).map((m) =>
    el("option", { value: m.user.id, selected: m.user.id === view.user }, m.nick || m.user.global_name || m.user.username)));
  renderChannels(g);
  renderMessages(g);
  renderMembers(g);
  renderCommands(g);
}

function renderChannels(g) {
  const nav = [];
  const categories = g.channels.filter((c) => c.type === 4);
  const under = (parent) => g.channels.filter((c) => c.type !== 4 && (c.parent_id || null) === parent && ![11, 12].includes(c.type));
  const button = (c) => el("button", {
    class: c.id === view.channel ? "active" : "", "data-testid": `channel-${c.name}`,
    onclick: () => { if ([0, 5].includes(c.type)) { view.channel = c.id; render(); } },
  }, c.type === 2 || c.type === 13 ? `🔊 ${c.name}` : `# ${c.name}`);
  nav.push(...under(null).map(button));
  for (const cat of categories) {
    nav.push(el("div", { class: "category" }, cat.name), ...under(cat.id).map(button));
  }
  const threads = g.channels.filter((c) => [11, 12].includes(c.type));
  if (threads.length) nav.push(el("div", { class: "category" }, "Threads"), ...threads.map(button));
  $("#channels").replaceChildren(...nav);
  const current = g.channels.find((c) => c.id === view.channel);
  $("#channel-title").textContent = current ? `# ${current.name}${current.topic ? " — " + current.topic : ""}` : "";
}

function renderEmbed(e) {
  return el("div", { class: "embed", style: e.color ? `border-color: #${e.color.toString(16).padStart(6, "0")}` : null },
    e.title ? el("div", { class: "title" }, e.title) : null,
    e.description ? el("div", {}, e.description) : null,
    ...(e.fields || []).map((f) => el("div", { class: "field" }, el("strong", {}, f.name), " ", f.value)),
    e.footer ? el("div", { class: "muted" }, e.footer.text) : null);
}

function renderComponents(m) {
  return (m.components || []).map((row) => el("div", { class: "row" }, ...(row.components || []).map((c) => {
    if (c.type === 2) {
      if (c.style === 5) return el("a", { href: c.url, target: "_blank", class: "style-5" }, c.label || "link");
      return el("button", {
        class: `style-${c.style || 1}`, disabled: c.disabled, "data-testid": `button-${c.custom_id}`,
        onclick: () => api("components", { channel_id: m.channel_id, message_id: m.id, user_id: view.user, custom_id: c.custom_id }),
      }, (c.emoji && c.emoji.name ? c.emoji.name + " " : "") + (c.label || ""));
    }
    if ([3, 5, 6, 7, 8].includes(c.type)) {
      const options = c.type === 3 ? c.options : selectChoices(c.type);
      const select = el("select", { "data-testid": `select-${c.custom_id}`, multiple: (c.max_values || 1) > 1, disabled: c.disabled },
        el("option", { value: "", disabled: true, selected: true }, c.placeholder || "Make a selection"),
        ...options.map((o) => el("option", { value: o.value }, o.label)));
      select.addEventListener("change", () => {
        const values = [...select.selectedOptions].map((o) => o.value).filter(Boolean);
        api("components", { channel_id: m.channel_id, message_id: m.id, user_id: view.user, custom_id: c.custom_id, values });
      });
      return select;
    }
    return null;
  })));
}

function selectChoices(type) {
  const g = guild();
  if (type === 5) return g.members.map((m) => ({ value: m.user.id, label: m.user.username }));
  if (type === 6) return g.roles.map((r) => ({ value: r.id, label: r.name }));
  if (type === 8) return g.channels.map((c) => ({ value: c.id, label: c.name }));
  return [...g.members.map((m) => ({ value: m.user.id, label: "@" + m.user.username })), ...g.roles.map((r) => ({ value: r.id, label: "@" + r.name }))];
}

const withMentions = (text) => (text || "").replace(/<@!?(\d+)>/g, (_, id) => "@" + userName(id));

function renderMessages(g) {
  const list = (view.state.messages[view.channel] || []).filter((m) => !m.ephemeral_to || m.ephemeral_to === view.user);
  $("#messages").replaceChildren(...list.map((m) => el("li", { class: "message", "data-testid": "message", dataset: { id: m.id, author: m.author.username } },
    el("span", { class: "author" }, m.author.global_name || m.author.username), m.author.bot ? el("span", { class: "bot-tag" }, "BOT") : null,
    el("span", { class: "meta" }, new Date(m.timestamp).toLocaleTimeString() + (m.edited_timestamp ? " (edited)" : "") + (m.pinned ? " 📌" : "")),
    m.interaction_metadata ? el("div", { class: "meta" }, `↳ ${userName(m.interaction_metadata.user.id)} used ${m.interaction_metadata.name ? "/" + m.interaction_metadata.name : "an interaction"}`) : null,
    m.flags & 128 ? el("div", { class: "content muted", "data-testid": "thinking" }, "maidcore is thinking…") : el("div", { class: "content", "data-testid": "content" }, withMentions(m.content)),
    m.ephemeral_to ? el("div", { class: "ephemeral" }, "Only you can see this") : null,
    ...(m.embeds || []).map(renderEmbed),
    ...(m.attachments || []).map((a) => el("div", {}, el("a", { href: a.url }, `📎 ${a.filename}`))),
    ...renderComponents(m),
    el("div", { class: "reactions" }, ...(m.reactions || []).map((r) => el("button", {
      onclick: () => api("reactions", { channel_id: m.channel_id, message_id: m.id, user_id: view.user, emoji: r.emoji.id ? `${r.emoji.name}:${r.emoji.id}` : r.emoji.name, add: true }),
    }, `${r.emoji.name} ${r.count}`)), el("button", {
      class: "react", title: "Add a reaction", "data-testid": "react",
      onclick: () => { const emoji = prompt("Emoji (unicode or name:id)", "👍"); if (emoji) api("reactions", { channel_id: m.channel_id, message_id: m.id, user_id: view.user, emoji }); },
    }, "+🙂")))));
  const box = $("#messages");
  box.scrollTop = box.scrollHeight;
}

function renderMembers(g) {
  const top = (m) => Math.max(0, ...m.roles.map((id) => (g.roles.find((r) => r.id === id) || { position: 0 }).position));
  const sorted = [...g.members].sort((a, b) => top(b) - top(a) || a.user.username.localeCompare(b.user.username));
  $("#members").replaceChildren(el("h3", {}, `Members — ${g.members.length}`), ...sorted.map((m) => el("div", { class: "member", "data-testid": "member" },
    m.user.global_name || m.user.username, m.user.bot ? el("span", { class: "bot-tag" }, "BOT") : null,
    m.nick ? el("div", { class: "nick" }, m.nick) : null,
    el("div", { class: "nick" }, m.roles.map((id) => (g.roles.find((r) => r.id === id) || {}).name).filter(Boolean).join(", ")))));
}

function renderCommands(g) {
  if (!g.commands.length) { $("#commands").replaceChildren(el("p", { class: "muted" }, "No slash commands registered in this guild.")); return; }
  $("#commands").replaceChildren(...g.commands.map((cmd) => {
    const inputs = (cmd.options || []).filter((o) => o.type >= 3).map((o) => el("input", { name: o.name, placeholder: `${o.name}${o.required ? "*" : ""}`, title: o.description, "data-testid": `option-${cmd.name}-${o.name}` }));
    return el("form", { class: "command", onsubmit: (ev) => {
      ev.preventDefault();
      const options = {};
      for (const input of inputs) if (input.value !== "") options[input.name] = input.value;
      api("commands", { channel_id: view.channel, user_id: view.user, name: cmd.name, options });
    } }, el("button", { "data-testid": `run-${cmd.name}` }, `/${cmd.name}`), ...inputs, el("span", { class: "muted" }, cmd.description));
  }));
}

function parseCommand(text) {
  const [, name, rest = ""] = text.match(/^\/([-_a-z0-9]+)\s*(.*)$/) || [];
  const options = {};
  for (const [, key, value] of rest.matchAll(/([-_a-z0-9]+):((?:(?!\s[-_a-z0-9]+:).)*)/g)) options[key] = value.trim();
  return { name, options };
}

function openModal(modal) {
  if (answeredModals.has(modal.interaction_id) || $("#modal").open) return;
  view.modal = modal;
  $("#modal-title").textContent = modal.title;
  const fields = [];
  for (const row of modal.components) {
    for (const c of row.components || [row]) {
      if (c.type !== 4) continue;
      const attrs = { name: c.custom_id, id: `field-${c.custom_id}`, "data-testid": `field-${c.custom_id}`, placeholder: c.placeholder || "", required: c.required !== false, minlength: c.min_length, maxlength: c.max_length };
      const input = c.style === 2 ? el("textarea", attrs, c.value || "") : el("input", { ...attrs, value: c.value || "" });
      fields.push(el("label", { for: attrs.id }, c.label), input);
    }
  }
  $("#modal-fields").replaceChildren(...fields);
  $("#modal").showModal();
}

$("#modal-form").addEventListener("submit", (ev) => {
  const modal = view.modal;
  view.modal = null;
  answeredModals.add(modal.interaction_id);
  if (ev.submitter && ev.submitter.value === "cancel") return;
  const values = {};
  for (const input of $("#modal-fields").querySelectorAll("input, textarea")) values[input.name] = input.value;
  api("modals", { interaction_id: modal.interaction_id, user_id: view.user, values });
});

$("#composer").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = $("#text").value.trim();
  if (!text) return;
  if (text.startsWith("/")) {
    const { name, options } = parseCommand(text);
    await api("commands", { channel_id: view.channel, user_id: view.user, name, options });
  } else {
    await api("messages", { channel_id: view.channel, user_id: view.user, content: text });
  }
  $("#text").value = "";
});

$("#guild").addEventListener("change", (ev) => { view.guild = ev.target.value; view.channel = null; refresh(); });
$("#user").addEventListener("change", (ev) => { view.user = ev.target.value; refresh(); });

function connect() {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/_emulator/live`);
  socket.addEventListener("open", () => { $("#status").textContent = "live"; $("#status").classList.add("live"); refresh(); });
  socket.addEventListener("message", (ev) => {
    const { t, d } = JSON.parse(ev.data);
    if (t === "_MODAL_OPEN" && d.user_id === view.user) { openModal(d); }
    refreshSoon();
  });
  socket.addEventListener("close", () => { $("#status").textContent = "reconnecting…"; $("#status").classList.remove("live"); setTimeout(connect, 1000); });
}

connect();

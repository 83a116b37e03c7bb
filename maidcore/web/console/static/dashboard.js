// Plugin dashboards: each widget loads its own data from the plugin, so one failing handler
// shows its error in its widget only. Plugin data is only ever set as text (never as markup),
// except markdown, which the server renders with raw HTML disabled.
"use strict";
(function () {
  const csrf = () => document.body.dataset.csrf || "";
  const h = (tag, cls, textValue) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (textValue !== undefined && textValue !== null) node.textContent = String(textValue);
    return node;
  };
  const fmt = (v) => (window.mcCharts ? window.mcCharts.fmt(v) : String(v));
  const arr = (...candidates) => candidates.find((c) => Array.isArray(c)) || [];
  const display = (v) => (v === null || v === undefined ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v));

  const render = {
    stat_card(body, data, opts) {
      const row = h("div");
      row.append(h("span", "stat", fmt(data.value)));
      if (data.change !== undefined && data.change !== null && data.change !== "") {
        const change = String(data.change);
        row.append(h("span", "stat-change " + (change.trim().startsWith("-") ? "down" : "up"), change));
      }
      body.append(row);
      if (data.label || data.subtitle) body.append(h("p", "meta", data.label || data.subtitle));
    },
    chart(body, data, opts) {
      const box = h("div", "chart");
      body.append(box);
      window.mcCharts.draw(box, opts.chart_type || "line", data, opts.chart_options || {});
    },
    table(body, data, opts) {
      const rows = arr(data.rows, data.items);
      let columns = Array.isArray(opts.columns) && opts.columns.length ? opts.columns : null;
      if (!columns) columns = Object.keys(rows[0] || {}).map((key) => ({ key, label: key }));
      if (!rows.length) return body.append(h("p", "muted", "No rows."));
      const wrap = h("div", "table-wrap");
      const table = h("table", "table compact");
      const head = table.createTHead().insertRow();
      for (const c of columns) { const th = h("th", null, c.label); th.scope = "col"; head.append(th); }
      const tbody = table.createTBody();
      for (const r of rows) {
        const tr = tbody.insertRow();
        for (const c of columns) { const td = tr.insertCell(); td.dataset.label = c.label; td.textContent = display(r ? r[c.key] : ""); }
      }
      wrap.append(table);
      body.append(wrap);
      if (typeof data.total === "number" && data.total > rows.length) body.append(h("p", "meta", `Showing ${rows.length} of ${data.total.toLocaleString()}`));
    },
    text(body, data) { body.append(h("p", null, data.text ?? "")); },
    markdown(body, data) { const div = h("div", "markdown"); div.innerHTML = data.html || ""; body.append(div); },
    alert(body, data) {
      const box = h("div", "alert-box " + String(data.level || "info"));
      box.setAttribute("role", "status");
      if (data.title) box.append(h("strong", null, data.title + " "));
      box.append(document.createTextNode(String(data.message ?? data.text ?? "")));
      body.append(box);
    },
    progress_bar(body, data) {
      const max = Number(data.max) || 100, value = Number(data.value) || 0;
      const share = Math.max(0, Math.min(1, value / max));
      const bar = h("div", "progress");
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", String(max));
      bar.setAttribute("aria-valuenow", String(value));
      const fill = h("span");
      fill.style.width = (share * 100).toFixed(1) + "%";
      bar.append(fill);
      body.append(bar, h("p", "meta", `${data.label ? data.label + " · " : ""}${fmt(value)} / ${fmt(max)} (${Math.round(share * 100)}%)`));
    },
    list(body, data) {
      const items = arr(data.items, data.list);
      if (!items.length) return body.append(h("p", "muted", "Nothing yet."));
      const ul = h("ul", "list-items");
      for (const it of items) {
        const li = h("li");
        if (it && typeof it === "object") { li.append(h("span", null, it.label ?? it.name ?? ""), h("strong", null, display(it.value ?? ""))); }
        else li.append(h("span", null, it));
        ul.append(li);
      }
      body.append(ul);
    },
    image(body, data, opts) {
      const url = String(data.url || opts.url || "");
      if (!/^(https:|data:image\/)/.test(url)) return body.append(h("p", "muted", "No image (only https: and data:image URLs are shown)."));
      const img = h("img", "image");
      img.src = url;
      img.alt = String(data.alt || opts.alt || "");
      body.append(img);
      if (data.caption) body.append(h("p", "meta", data.caption));
    },
    key_value(body, data) {
      let items = arr(data.items, data.pairs);
      if (!items.length && data.pairs && typeof data.pairs === "object") items = Object.entries(data.pairs).map(([key, value]) => ({ key, value }));
      if (!items.length) items = Object.entries(data).map(([key, value]) => ({ key, value }));
      const dl = h("dl", "kv");
      for (const it of items) { dl.append(h("dt", null, it.key ?? it.label ?? ""), h("dd", null, display(it.value))); }
      body.append(dl);
    },
    timeline(body, data) {
      const items = arr(data.items, data.events);
      if (!items.length) return body.append(h("p", "muted", "Nothing yet."));
      const ol = h("ol", "timeline");
      for (const it of items) {
        const li = h("li");
        const when = it.time ?? it.timestamp ?? it.at;
        if (when) li.append(h("time", null, when));
        li.append(h("strong", null, it.title ?? it.label ?? ""));
        if (it.description ?? it.text) li.append(h("div", "meta", it.description ?? it.text));
        ol.append(li);
      }
      body.append(ol);
    },
    badge_list(body, data) {
      const items = arr(data.badges, data.items);
      const box = h("div", "badges");
      for (const it of items) {
        const label = typeof it === "object" && it ? it.label ?? it.text ?? "" : it;
        const level = typeof it === "object" && it ? it.level ?? it.color ?? "" : "";
        box.append(h("span", "badge " + String(level).replace(/[^a-z]/gi, ""), label));
      }
      if (!items.length) box.append(h("span", "muted", "None."));
      body.append(box);
    },
    user_list(body, data) {
      const items = arr(data.users, data.items);
      if (!items.length) return body.append(h("p", "muted", "Nobody yet."));
      const ul = h("ul", "users");
      for (const u of items) {
        const li = h("li");
        const name = String(u.name ?? u.display_name ?? u.username ?? u.id ?? "");
        if (u.avatar_url && /^https:/.test(u.avatar_url)) { const img = h("img"); img.src = u.avatar_url; img.alt = ""; li.append(img); }
        else li.append(h("span", "avatar", name.slice(0, 1).toUpperCase()));
        const who = h("div");
        who.append(h("strong", null, name));
        if (u.subtitle ?? u.detail) who.append(h("div", "meta", u.subtitle ?? u.detail));
        li.append(who);
        ul.append(li);
      }
      body.append(ul);
    },
  };

  function fillForm(form, data) {
    const values = (data && data.values) || {};
    for (const field of form.querySelectorAll("[data-field]")) {
      const key = field.dataset.field, kind = field.dataset.kind, value = values[key];
      if (kind === "channel" || kind === "role") {
        const select = field.querySelector("select");
        const choices = (kind === "channel" ? data.channels : data.roles) || [];
        select.replaceChildren(new Option(kind === "channel" ? "Choose a channel" : "Choose a role", ""));
        for (const c of choices) select.append(new Option((kind === "channel" ? "#" : "@") + c.name, c.id));
        select.value = value == null ? "" : String(value);
      } else if (kind === "toggle") {
        field.querySelector("input").checked = value === true || value === "true";
      } else if (kind === "multi_select") {
        const chosen = new Set((Array.isArray(value) ? value : []).map(String));
        for (const box of field.querySelectorAll("input[type=checkbox]")) box.checked = chosen.has(box.value);
      } else {
        const input = field.querySelector("input, select, textarea");
        if (input && value !== undefined && value !== null) input.value = String(value);
        const out = field.querySelector("output");
        if (out && input) out.textContent = input.value;
      }
    }
  }

  function readForm(form) {
    const values = {};
    for (const field of form.querySelectorAll("[data-field]")) {
      const key = field.dataset.field, kind = field.dataset.kind;
      if (kind === "toggle") values[key] = field.querySelector("input").checked;
      else if (kind === "multi_select") values[key] = [...field.querySelectorAll("input:checked")].map((b) => b.value);
      else values[key] = field.querySelector("input, select, textarea").value;
    }
    return values;
  }

  async function post(url, body) {
    const resp = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), Accept: "application/json" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
    let data = {};
    try { data = await resp.json(); } catch (err) { data = { error: `HTTP ${resp.status}` }; }
    if (!resp.ok || data.error) throw new Error(data.error || `HTTP ${resp.status}`);
    return data;
  }

  function status(node, kind, message) {
    node.className = "form-status " + kind;
    node.textContent = message;
  }

  async function load(widget) {
    const kind = widget.dataset.type;
    const opts = JSON.parse(widget.dataset.options || "{}");
    widget.setAttribute("aria-busy", "true");
    let answer;
    try {
      const resp = await fetch(widget.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      answer = await resp.json();
    } catch (err) {
      answer = { error: "the console could not be reached" };
    }
    widget.setAttribute("aria-busy", "false");
    widget.dataset.state = answer.error ? "error" : "ok";
    if (kind === "form") {
      const form = widget.querySelector("form");
      const note = form.querySelector(".form-status");
      if (answer.error) status(note, "error", "Could not load the current values: " + answer.error);
      else fillForm(form, answer.data || {});
      return;
    }
    const body = widget.querySelector("[data-body]");
    if (!body) return;
    body.replaceChildren();
    if (answer.error) {
      const p = h("p", "widget-error", answer.error);
      p.setAttribute("role", "alert");
      p.dataset.testid = "widget-error";
      body.append(p);
      return;
    }
    try {
      (render[kind] || render.key_value)(body, answer.data || {}, opts);
    } catch (err) {
      body.replaceChildren(h("p", "widget-error", "The data could not be shown: " + err.message));
    }
  }

  function wireForm(widget) {
    const form = widget.querySelector("form[data-save]");
    if (!form) return;
    for (const range of form.querySelectorAll("input[type=range]")) {
      const out = range.parentElement.querySelector("output");
      range.addEventListener("input", () => { out.textContent = range.value; });
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const note = form.querySelector(".form-status");
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      status(note, "", "Saving…");
      try {
        const data = await post(form.dataset.save, { values: readForm(form) });
        status(note, "ok", data.message || "Saved.");
      } catch (err) {
        status(note, "error", err.message);
      } finally {
        button.disabled = false;
      }
    });
  }

  function wireAction(widget) {
    const button = widget.querySelector("button[data-action]");
    if (!button) return;
    button.addEventListener("click", async () => {
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
      const note = widget.querySelector(".form-status");
      button.disabled = true;
      try {
        const data = await post(button.dataset.action, {});
        status(note, "ok", data.message || "Done.");
      } catch (err) {
        status(note, "error", err.message);
      } finally {
        button.disabled = false;
      }
    });
  }

  function wireTabs(root) {
    const tabs = [...root.querySelectorAll(':scope > .tablist > [role="tab"]')];
    const select = (tab) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute("aria-selected", on ? "true" : "false");
        t.tabIndex = on ? 0 : -1;
        document.getElementById(t.getAttribute("aria-controls")).hidden = !on;
      }
      tab.focus();
    };
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => select(tab));
      tab.addEventListener("keydown", (e) => {
        if (e.key === "ArrowRight") select(tabs[(i + 1) % tabs.length]);
        if (e.key === "ArrowLeft") select(tabs[(i - 1 + tabs.length) % tabs.length]);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const tabs of document.querySelectorAll("[data-tabs]")) wireTabs(tabs);
    for (const widget of document.querySelectorAll("[data-widget]")) {
      wireForm(widget);
      wireAction(widget);
      if (widget.dataset.type === "action_button") continue;
      load(widget);
      const every = Number(widget.dataset.refresh);
      if (every > 0) setInterval(() => { if (!document.hidden) load(widget); }, every * 1000);
    }
  });
})();

// The console's small enhancements on top of pages that work without them:
// drag-and-drop upload, live updates (Server-Sent Events), confirmations, auto-submitting filters.
"use strict";
(function () {
  const csrf = () => document.body.dataset.csrf || "";

  function wireUpload(form) {
    const input = form.querySelector('input[type="file"]');
    const zone = form.querySelector(".dropzone");
    const note = form.querySelector("[data-upload-status]");
    form.classList.add("enhanced");
    // the message, then what is wrong where: one finding a line, `file:line` first
    const say = (message, error, findings = []) => {
      const head = document.createElement("span");
      head.textContent = findings.length ? `${message}:` : message;
      const parts = [head];
      if (findings.length) {
        const list = document.createElement("ul");
        list.dataset.testid = "upload-findings";
        for (const f of findings.slice(0, 5)) {
          const item = document.createElement("li");
          const where = document.createElement("code");
          where.textContent = `${f.path || "bundle"}${f.line ? ":" + f.line : ""}`;
          item.append(where, ` ${f.message}`);
          list.append(item);
        }
        if (findings.length > 5) {
          const more = document.createElement("li");
          more.textContent = `and ${findings.length - 5} more`;
          list.append(more);
        }
        parts.push(list);
      }
      note.replaceChildren(...parts);
      note.classList.toggle("error", !!error);
    };
    async function send(file) {
      if (!file) return;
      if (!/\.zip$/i.test(file.name)) return say(`${file.name} is not a .zip file; build one with \`mmo bundle\`.`, true);
      const body = new FormData();
      body.append("bundle", file, file.name);
      say(`Uploading ${file.name} and running the review…`);
      zone.setAttribute("aria-busy", "true");
      try {
        const resp = await fetch(form.action, {
          method: "POST",
          body,
          headers: { "X-CSRF-Token": csrf(), Accept: "application/json" },
          credentials: "same-origin",
        });
        const data = await resp.json().catch(() => ({ error: `HTTP ${resp.status}` }));
        if (!resp.ok || !data.location) {
          return say(data.error || `upload failed (HTTP ${resp.status})`, true, data.findings || []);
        }
        say(`Reviewed: ${data.status.replace(/_/g, " ")}. Opening the results…`);
        window.location.assign(data.location);
      } catch (err) {
        say(`The upload did not reach the server: ${err.message}`, true);
      } finally {
        zone.removeAttribute("aria-busy");
        input.value = "";
      }
    }
    input.addEventListener("change", () => send(input.files[0]));
    zone.tabIndex = 0;
    zone.setAttribute("role", "button");
    zone.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); }
    });
    for (const name of ["dragenter", "dragover"]) {
      zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.add("over"); });
    }
    for (const name of ["dragleave", "drop"]) {
      zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.remove("over"); });
    }
    zone.addEventListener("drop", (e) => send(e.dataTransfer && e.dataTransfer.files[0]));
  }

  function liveStatus(scope, on) {
    const node = scope.querySelector("[data-live-status]");
    if (node) {
      node.classList.toggle("on", on);
      node.textContent = on ? "Live: new lines appear at the top." : "Reconnecting…";
    }
  }

  function wireLogs(list) {
    const source = new EventSource(list.dataset.stream);
    const scope = list.closest(".card") || document;
    source.onopen = () => { liveStatus(scope, true); list.dataset.connected = "true"; };
    source.onerror = () => { liveStatus(scope, false); list.dataset.connected = "false"; };
    source.addEventListener("log", (event) => {
      const e = JSON.parse(event.data);
      const placeholder = list.querySelector("[data-empty]");
      if (placeholder) placeholder.remove();
      const li = document.createElement("li");
      li.className = `log lvl-${String(e.level).replace(/[^a-z]/gi, "")} fresh`;
      li.dataset.testid = "log-line";
      const time = document.createElement("time");
      time.dateTime = e.at;
      time.textContent = String(e.at).slice(11, 19);
      const lvl = document.createElement("span");
      lvl.className = "lvl";
      lvl.textContent = e.level;
      li.append(time, lvl);
      if (e.server && list.dataset.showServer === "1") {
        const srv = document.createElement("span");
        srv.className = "srv";
        srv.textContent = e.server;
        li.append(srv);
      }
      const msg = document.createElement("span");
      msg.className = "msg";
      msg.textContent = e.message;
      li.append(msg);
      list.prepend(li);
      while (list.children.length > 500) list.lastElementChild.remove();
    });
  }

  function wireLive(region) {
    const source = new EventSource(region.dataset.live);
    source.onopen = () => { region.dataset.connected = "true"; };
    source.onerror = () => { region.dataset.connected = "false"; };
    source.addEventListener("requests", (event) => {
      const focused = document.activeElement && region.contains(document.activeElement) ? document.activeElement : null;
      const key = focused && focused.closest("[data-capability]");
      region.innerHTML = JSON.parse(event.data).html; // rendered and escaped by the server's templates
      region.dataset.updated = String(Date.now());
      if (key) {
        const again = region.querySelector(`[data-capability="${CSS.escape(key.dataset.capability)}"] button`);
        if (again) again.focus();
      }
    });
  }

  function openTarget() {
    if (!location.hash) return;
    const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
    const details = target && target.closest("details");
    if (details) details.open = true;
    if (target) target.scrollIntoView({ block: "center" });
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("form[data-upload]")) wireUpload(form);
    for (const list of document.querySelectorAll("[data-stream]")) wireLogs(list);
    for (const region of document.querySelectorAll("[data-live]")) wireLive(region);
    for (const select of document.querySelectorAll("select[data-autosubmit]")) {
      select.addEventListener("change", () => select.form.submit());
    }
    document.addEventListener("submit", (event) => {
      const form = event.target.closest("form[data-confirm]");
      if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
    }, true);
    openTarget();
    window.addEventListener("hashchange", openTarget);
  });
})();

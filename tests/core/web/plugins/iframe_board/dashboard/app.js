// Asks the plugin's dashboard handlers for data through the console's bridge, and records what the
// sandbox refuses it (the console's cookies, DOM and API) so the test can check each refusal.
"use strict";
const pending = new Map();
let nextId = 1;

function rpc(method, params) {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    window.parent.postMessage({ type: "maidcore.rpc", id, method, params }, "*");
  });
}

window.addEventListener("message", (event) => {
  const msg = event.data;
  if (event.source !== window.parent || !msg || msg.type !== "maidcore.rpc.result" || !pending.has(msg.id)) return;
  const waiting = pending.get(msg.id);
  pending.delete(msg.id);
  if ("error" in msg) waiting.reject(new Error(msg.error));
  else waiting.resolve(msg.result);
});

async function attempt(what) {
  try { return "allowed: " + String(await what()); } catch (err) { return "refused: " + (err && err.name); }
}

async function probes() {
  const console_rpc = location.pathname.replace(/\/frame\/.*$/, "/rpc");
  return {
    origin: String(self.origin),
    cookie: await attempt(() => document.cookie),
    parentDom: await attempt(() => window.parent.document.title),
    fetchApi: await attempt(async () => (await fetch("/api/v1/plugins", { credentials: "include" })).status),
    fetchRpc: await attempt(async () => (await fetch(console_rpc, { method: "POST", credentials: "include", body: "{}" })).status),
    storage: await attempt(() => window.localStorage.length),
  };
}

// Ask for the height the content needs whenever it changes (new data, a narrower window).
const fit = () => window.parent.postMessage({ type: "maidcore.resize", height: Math.ceil(document.body.getBoundingClientRect().height) + 48 }, "*");
new ResizeObserver(fit).observe(document.body);

(async () => {
  const summary = await rpc("summary", { who: "the frame" });
  document.getElementById("members").textContent = String(summary.members);
  document.getElementById("asked").textContent = summary.asked_by;
  try { await rpc("broken", {}); } catch (err) { document.getElementById("broken").textContent = err.message; }
  document.getElementById("probes").textContent = JSON.stringify(await probes());
  document.body.dataset.done = "1";
})();

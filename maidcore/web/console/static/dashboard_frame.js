// The iframe dashboard bridge. The plugin's page runs sandboxed (opaque origin, no network); it asks for
// data by posting {type: "maidcore.rpc", id, method, params} to its parent. Only messages whose source is
// that frame's window are answered: the console calls the dashboard RPC endpoint with the person's
// session and posts {type: "maidcore.rpc.result", id, result} or {..., id, error} back to the frame.
// {type: "maidcore.resize", height} sets the frame's height (120 to 20000 px).
"use strict";
(function () {
  const frame = document.querySelector("[data-dashboard-frame]");
  if (!frame) return;
  const endpoint = frame.dataset.rpc;
  const csrf = () => document.body.dataset.csrf || "";
  const MAX_IN_FLIGHT = 16;
  const MIN_HEIGHT = 120, MAX_HEIGHT = 20000;
  let inFlight = 0;

  function answer(id, body) {
    // The frame's origin is opaque ("null"), so "*" is the only target origin that reaches it; the
    // message goes to that frame's window object only.
    if (frame.contentWindow) frame.contentWindow.postMessage(Object.assign({ type: "maidcore.rpc.result", id }, body), "*");
  }

  // The page may ask for the height its content needs (within bounds), so it shows without inner scrolling.
  function resize(height) {
    const px = Number(height);
    if (!Number.isFinite(px)) return;
    frame.style.height = Math.round(Math.max(MIN_HEIGHT, Math.min(MAX_HEIGHT, px))) + "px";
  }

  async function call(id, method, params) {
    inFlight += 1;
    try {
      const resp = await fetch(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf(), Accept: "application/json" },
        body: JSON.stringify({ method, params }),
        credentials: "same-origin",
      });
      let data = {};
      try { data = await resp.json(); } catch (err) { data = { error: `HTTP ${resp.status}` }; }
      if (!resp.ok || typeof data.error === "string") answer(id, { error: String(data.error || `HTTP ${resp.status}`) });
      else answer(id, { result: data.result });
    } catch (err) {
      answer(id, { error: "the console could not reach the server" });
    } finally {
      inFlight -= 1;
    }
  }

  window.addEventListener("message", (event) => {
    if (event.source !== frame.contentWindow) return;  // only the plugin's own frame may ask
    const msg = event.data;
    if (msg && typeof msg === "object" && msg.type === "maidcore.resize") return resize(msg.height);
    if (!msg || typeof msg !== "object" || msg.type !== "maidcore.rpc") return;
    const id = msg.id;
    if (!(typeof id === "string" || typeof id === "number")) return;
    if (typeof msg.method !== "string" || !msg.method) return answer(id, { error: '"method" must be a handler name' });
    const params = msg.params === undefined ? {} : msg.params;
    if (!params || typeof params !== "object" || Array.isArray(params)) return answer(id, { error: '"params" must be an object' });
    if (inFlight >= MAX_IN_FLIGHT) return answer(id, { error: `more than ${MAX_IN_FLIGHT} calls at once; wait for answers` });
    call(id, msg.method, params);
  });
})();

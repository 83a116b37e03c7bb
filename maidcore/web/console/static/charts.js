// Small SVG charts for the console (line, bar, pie, gauge): no library, no build step.
// Every label is set with textContent, so data from plugins never becomes markup.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#5b5bd6", "#1a9fb5", "#e8833a", "#2e9e5b", "#d6456a", "#8c6bd6", "#c4a11b", "#5c7080"];

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, value, attrs) {
    const t = el("text", Object.assign({ x, y }, attrs || {}), parent);
    t.textContent = value;
    return t;
  }
  function title(node, value) {
    const t = el("title", {}, node);
    t.textContent = value;
  }
  function num(v) {
    const n = typeof v === "number" ? v : parseFloat(v);
    return Number.isFinite(n) ? n : null;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    const n = num(v);
    if (n === null) return String(v);
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
    if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1).replace(/\.0$/, "") + "k";
    return Number.isInteger(n) ? n.toLocaleString() : n.toLocaleString(undefined, { maximumFractionDigits: 2 });
  }
  function shortLabel(label) {
    const s = String(label);
    const iso = s.match(/^\d{4}-(\d{2})-(\d{2})T(\d{2}):(\d{2})/);
    if (iso) return iso[3] === "00" && iso[4] === "00" ? `${iso[1]}-${iso[2]}` : `${iso[3]}:${iso[4]}`;
    return s.length > 12 ? s.slice(0, 11) + "…" : s;
  }
  function series(data) {
    const list = Array.isArray(data && data.series) ? data.series : [];
    return list.map((s, i) => ({
      name: String((s && s.name) || `series ${i + 1}`),
      data: Array.isArray(s && s.data) ? s.data.map(num) : [],
    }));
  }
  function legend(container, names) {
    if (names.length < 2) return;
    const ul = document.createElement("ul");
    ul.className = "legend";
    names.forEach((name, i) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = COLORS[i % COLORS.length];
      li.append(sw, document.createTextNode(name));
      ul.appendChild(li);
    });
    container.appendChild(ul);
  }
  function empty(container, message) {
    const p = document.createElement("p");
    p.className = "muted";
    p.textContent = message;
    container.appendChild(p);
  }

  function axes(svg, labels, lo, hi, W, H, P) {
    for (let i = 0; i <= 4; i++) {
      const y = P.t + ((H - P.t - P.b) * i) / 4;
      el("line", { x1: P.l, x2: W - P.r, y1: y, y2: y, class: "axis" }, svg);
      text(svg, P.l - 6, y + 4, fmt(hi - ((hi - lo) * i) / 4), { "text-anchor": "end" });
    }
    const n = labels.length;
    const every = Math.max(1, Math.ceil(n / 6));
    labels.forEach((label, i) => {
      if (i % every !== 0 && i !== n - 1) return;
      const x = P.l + (n === 1 ? (W - P.l - P.r) / 2 : ((W - P.l - P.r) * i) / (n - 1));
      text(svg, x, H - P.b + 16, shortLabel(label), { "text-anchor": "middle" });
    });
  }
  function range(all, stacked) {
    const values = all.filter((v) => v !== null);
    let lo = Math.min(0, ...values), hi = Math.max(0, ...values);
    if (stacked) hi = Math.max(hi, stacked);
    if (hi === lo) hi = lo + 1;
    return [lo, hi];
  }

  /** Drawing size in CSS pixels of the container, so text keeps its real size at every width. */
  function size(container) {
    const W = Math.max(260, Math.round(container.clientWidth || 640));
    return [W, Math.max(170, Math.min(260, Math.round(W * 0.45)))];
  }

  function line(container, data) {
    const labels = Array.isArray(data.labels) ? data.labels : [];
    const ss = series(data);
    if (!ss.length || !labels.length) return empty(container, "No data yet.");
    const [W, H] = size(container), P = { l: 44, r: 12, t: 10, b: 26 };
    const [lo, hi] = range(ss.flatMap((s) => s.data));
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "presentation" }, container);
    axes(svg, labels, lo, hi, W, H, P);
    const x = (i) => P.l + (labels.length === 1 ? (W - P.l - P.r) / 2 : ((W - P.l - P.r) * i) / (labels.length - 1));
    const y = (v) => P.t + (H - P.t - P.b) * (1 - (v - lo) / (hi - lo));
    ss.forEach((s, k) => {
      const color = COLORS[k % COLORS.length];
      const pts = s.data.map((v, i) => (v === null ? null : [x(i), y(v)]));
      let d = "";
      pts.forEach((p, i) => { if (p) d += `${d && pts[i - 1] ? "L" : "M"}${p[0].toFixed(1)},${p[1].toFixed(1)}`; });
      el("path", { d, fill: "none", stroke: color, "stroke-width": 2.2, "stroke-linejoin": "round" }, svg);
      pts.forEach((p, i) => {
        if (!p) return;
        const dot = el("circle", { cx: p[0], cy: p[1], r: labels.length > 40 ? 1.8 : 3, fill: color }, svg);
        title(dot, `${s.name} · ${labels[i]}: ${fmt(s.data[i])}`);
      });
    });
    legend(container, ss.map((s) => s.name));
  }

  function bar(container, data, options) {
    const labels = Array.isArray(data.labels) ? data.labels : [];
    const ss = series(data);
    if (!ss.length || !labels.length) return empty(container, "No data yet.");
    const stacked = options && options.stacked;
    const [W, H] = size(container), P = { l: 44, r: 12, t: 10, b: 26 };
    const sums = labels.map((_, i) => ss.reduce((a, s) => a + Math.max(0, s.data[i] || 0), 0));
    const [lo, hi] = range(ss.flatMap((s) => s.data), stacked ? Math.max(...sums) : 0);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "presentation" }, container);
    for (let i = 0; i <= 4; i++) {
      const yy = P.t + ((H - P.t - P.b) * i) / 4;
      el("line", { x1: P.l, x2: W - P.r, y1: yy, y2: yy, class: "axis" }, svg);
      text(svg, P.l - 6, yy + 4, fmt(hi - ((hi - lo) * i) / 4), { "text-anchor": "end" });
    }
    const slot = (W - P.l - P.r) / labels.length;
    const y = (v) => P.t + (H - P.t - P.b) * (1 - (v - lo) / (hi - lo));
    const every = Math.max(1, Math.ceil(labels.length / 8));
    labels.forEach((label, i) => {
      const x0 = P.l + slot * i + slot * 0.12, width = slot * 0.76;
      let base = 0;
      ss.forEach((s, k) => {
        const v = s.data[i] || 0;
        const color = COLORS[k % COLORS.length];
        let rect;
        if (stacked) {
          rect = el("rect", { x: x0, y: y(base + v), width, height: Math.max(0, y(base) - y(base + v)), fill: color, rx: 2 }, svg);
          base += v;
        } else {
          const w = width / ss.length;
          const top = y(Math.max(0, v)), bottom = y(Math.min(0, v));
          rect = el("rect", { x: x0 + w * k, y: top, width: Math.max(1, w - 2), height: Math.max(0, bottom - top), fill: color, rx: 2 }, svg);
        }
        title(rect, `${s.name} · ${label}: ${fmt(s.data[i])}`);
      });
      if (i % every === 0) text(svg, x0 + width / 2, H - P.b + 16, shortLabel(label), { "text-anchor": "middle" });
    });
    legend(container, ss.map((s) => s.name));
  }

  function slices(data) {
    const items = data.slices || data.items;
    if (Array.isArray(items)) {
      return items.map((it, i) => ({ label: String(it.label ?? it.name ?? `#${i + 1}`), value: num(it.value) || 0 }));
    }
    const labels = Array.isArray(data.labels) ? data.labels : [];
    const first = series(data)[0];
    return labels.map((label, i) => ({ label: String(label), value: first ? first.data[i] || 0 : 0 }));
  }

  function pie(container, data) {
    const parts = slices(data).filter((p) => p.value > 0);
    const total = parts.reduce((a, p) => a + p.value, 0);
    if (!total) return empty(container, "No data yet.");
    const S = 220, R = 100, r = 58, c = S / 2;
    const svg = el("svg", { viewBox: `0 0 ${S} ${S}`, role: "presentation", class: "pie" }, container);
    svg.style.maxWidth = "260px";
    svg.style.margin = "0 auto";
    let angle = -Math.PI / 2;
    parts.forEach((p, i) => {
      const sweep = (p.value / total) * Math.PI * 2;
      const a2 = angle + Math.min(sweep, Math.PI * 2 - 1e-4);
      const large = sweep > Math.PI ? 1 : 0;
      const pt = (a, rad) => `${(c + rad * Math.cos(a)).toFixed(2)},${(c + rad * Math.sin(a)).toFixed(2)}`;
      const d = `M${pt(angle, R)}A${R},${R} 0 ${large} 1 ${pt(a2, R)}L${pt(a2, r)}A${r},${r} 0 ${large} 0 ${pt(angle, r)}Z`;
      const path = el("path", { d, fill: COLORS[i % COLORS.length] }, svg);
      title(path, `${p.label}: ${fmt(p.value)} (${((p.value / total) * 100).toFixed(1)}%)`);
      angle += sweep;
    });
    text(svg, c, c + 6, fmt(total), { "text-anchor": "middle", class: "gauge-value" });
    const ul = document.createElement("ul");
    ul.className = "legend";
    parts.forEach((p, i) => {
      const li = document.createElement("li");
      const sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.background = COLORS[i % COLORS.length];
      li.append(sw, document.createTextNode(`${p.label} ${((p.value / total) * 100).toFixed(0)}%`));
      ul.appendChild(li);
    });
    container.appendChild(ul);
  }

  function gauge(container, data) {
    let value = num(data.value), max = num(data.max), min = num(data.min);
    if (value === null) {
      const first = series(data)[0];
      value = first && first.data.length ? first.data[first.data.length - 1] : null;
    }
    if (value === null) return empty(container, "No data yet.");
    min = min === null ? 0 : min;
    max = max === null ? 100 : max;
    const share = Math.max(0, Math.min(1, (value - min) / (max - min || 1)));
    const W = 220, H = 130, c = W / 2, R = 90, stroke = 18;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "presentation" }, container);
    svg.style.maxWidth = "280px";
    svg.style.margin = "0 auto";
    const arc = (from, to) => {
      const a1 = Math.PI * (1 - from), a2 = Math.PI * (1 - to);
      return `M${c + R * Math.cos(a1)},${H - 14 - R * Math.sin(a1)}A${R},${R} 0 0 1 ${c + R * Math.cos(a2)},${H - 14 - R * Math.sin(a2)}`;
    };
    el("path", { d: arc(0, 1), fill: "none", stroke: "currentColor", "stroke-opacity": 0.12, "stroke-width": stroke, "stroke-linecap": "round" }, svg);
    if (share > 0) el("path", { d: arc(0, share), fill: "none", stroke: COLORS[0], "stroke-width": stroke, "stroke-linecap": "round" }, svg);
    text(svg, c, H - 22, fmt(value), { "text-anchor": "middle", class: "gauge-value" });
    text(svg, c - R, H, fmt(min), { "text-anchor": "middle" });
    text(svg, c + R, H, fmt(max), { "text-anchor": "middle" });
    if (data.label) {
      const p = document.createElement("p");
      p.className = "meta";
      p.style.textAlign = "center";
      p.textContent = String(data.label);
      container.appendChild(p);
    }
  }

  function draw(container, kind, data, options) {
    container.replaceChildren();
    const fn = { line, bar, pie, gauge }[kind] || line;
    fn(container, data || {}, options || {});
    container.mcChart = [kind, data, options];
  }

  // line and bar charts are drawn for their width: draw again when it changes (phone rotation, window size)
  const resized = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const node = entry.target, last = node.mcChart, width = Math.round(entry.contentRect.width);
      if (last && ["line", "bar"].includes(last[0]) && width && width !== node.mcWidth) {
        node.mcWidth = width;
        draw(node, ...last);
      }
    }
  });
  const observe = (node) => resized.observe(node);

  window.mcCharts = { draw: (c, k, d, o) => { draw(c, k, d, o); observe(c); }, fmt, num };
  document.addEventListener("DOMContentLoaded", () => {
    for (const node of document.querySelectorAll("[data-chart][data-series]")) {
      try {
        window.mcCharts.draw(node, node.dataset.chart, JSON.parse(node.dataset.series));
      } catch (err) {
        node.textContent = "This chart could not be drawn.";
      }
    }
  });
})();

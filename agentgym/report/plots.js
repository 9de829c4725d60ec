// SVG plots drawn inline (no libraries): histograms and line charts. Part of the agentgym report page.
const SVGNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const k of kids) el.append(k);
  return el;
}
function tick(v) {
  if (v == null || !isFinite(v)) return "";
  const a = Math.abs(v);
  if (a >= 10000) return v.toExponential(1);
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v * 10) / 10);
  return v.toPrecision(2);
}
function frame(W, H, x0, x1, y0, y1, P) {
  const g = svg("g");
  g.append(svg("line", {x1: P.l, y1: H - P.b, x2: W - P.r, y2: H - P.b, stroke: "#8c959f"}));
  g.append(svg("line", {x1: P.l, y1: P.t, x2: P.l, y2: H - P.b, stroke: "#8c959f"}));
  for (const [v, y] of [[y0, H - P.b], [y1, P.t]]) {
    const t = svg("text", {x: P.l - 3, y: y + 3, "text-anchor": "end"}); t.textContent = tick(v); g.append(t);
  }
  for (const [v, x, a] of [[x0, P.l, "start"], [x1, W - P.r, "end"]]) {
    const t = svg("text", {x, y: H - P.b + 12, "text-anchor": a}); t.textContent = tick(v); g.append(t);
  }
  return g;
}
function histogramPlot(title, hist, opts = {}) {
  const W = opts.w || 260, H = opts.h || 120, P = {l: 34, r: 8, t: 8, b: 18};
  const box = document.createElement("div"); box.className = "plot";
  const t = document.createElement("div"); t.className = "t"; t.textContent = title; box.append(t);
  const root = svg("svg", {width: W, height: H, role: "img", "aria-label": title});
  const counts = hist.counts || [], edges = hist.edges || [];
  if (!counts.length) { const e = svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}); e.textContent = "no data"; root.append(e); box.append(root); return box; }
  const top = Math.max(...counts), n = counts.length, bw = (W - P.l - P.r) / n;
  counts.forEach((c, i) => {
    const bh = top ? (H - P.t - P.b) * c / top : 0;
    const r = svg("rect", {x: P.l + i * bw + 1, y: H - P.b - bh, width: Math.max(1, bw - 2), height: bh, fill: "#54aeff"});
    const tip = svg("title"); tip.textContent = `${tick(edges[i])}–${tick(edges[i + 1])}: ${c}`; r.append(tip);
    root.append(r);
  });
  root.append(frame(W, H, edges[0], edges[edges.length - 1], 0, top, P));
  box.append(root); return box;
}
function movingAverage(ys, w) {
  const out = []; let s = 0, k = 0; const q = [];
  for (const y of ys) { q.push(y); s += y; k++; if (q.length > w) { s -= q.shift(); k--; } out.push(s / k); }
  return out;
}
function linePlot(title, xs, ys, opts = {}) {
  const W = opts.w || 320, H = opts.h || 150, P = {l: 40, r: 10, t: 8, b: 18};
  const pts = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => x != null && y != null && isFinite(y));
  const box = document.createElement("div"); box.className = "plot"; box.dataset.metric = title;
  const t = document.createElement("div"); t.className = "t"; t.textContent = title; box.append(t);
  const root = svg("svg", {width: W, height: H, role: "img", "aria-label": title});
  if (!pts.length) { const e = svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}); e.textContent = "no data"; root.append(e); box.append(root); return box; }
  let x0 = Math.min(...pts.map(p => p[0])), x1 = Math.max(...pts.map(p => p[0]));
  let y0 = Math.min(...pts.map(p => p[1])), y1 = Math.max(...pts.map(p => p[1]));
  if (x0 === x1) x1 = x0 + 1; if (y0 === y1) { y0 -= 0.5; y1 += 0.5; }
  const X = x => P.l + (x - x0) / (x1 - x0) * (W - P.l - P.r), Y = y => H - P.b - (y - y0) / (y1 - y0) * (H - P.t - P.b);
  const path = arr => arr.map(([x, y], i) => `${i ? "L" : "M"}${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join("");
  root.append(svg("path", {d: path(pts), fill: "none", stroke: "#54aeff", "stroke-width": 1, opacity: pts.length > 8 ? 0.45 : 1}));
  if (pts.length > 8) {
    const w = Math.max(2, Math.round(pts.length / 10)), sm = movingAverage(pts.map(p => p[1]), w);
    root.append(svg("path", {d: path(pts.map((p, i) => [p[0], sm[i]])), fill: "none", stroke: "#0969da", "stroke-width": 2}));
  }
  if (pts.length <= 40) for (const [x, y] of pts) {
    const c = svg("circle", {cx: X(x), cy: Y(y), r: 2, fill: "#0969da"}); const tip = svg("title"); tip.textContent = `step ${x}: ${tick(y)}`; c.append(tip); root.append(c);
  }
  root.append(frame(W, H, x0, x1, y0, y1, P));
  box.append(root); return box;
}

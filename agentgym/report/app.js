// The agentgym report page: summary, learning curves, trajectory browser, run comparison.
"use strict";
const DATA = JSON.parse(document.getElementById("agentgym-data").textContent);
const RUNS = DATA.runs;
const PAGE = 50;
const $ = id => document.getElementById(id);
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) el.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids.flat()) if (k !== null && k !== undefined) el.append(k instanceof Node ? k : String(k));
  return el;
}
const fmt = (v, d = 3) => v == null ? "–" : typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(d)) : String(v);
const pct = v => v == null ? "–" : (100 * v).toFixed(1) + "%";
const okMark = s => h("span", {class: s ? "ok" : "bad"}, s ? "yes" : "no");
const kv = rows => h("table", {class: "kv"}, rows.map(([k, v]) => h("tr", {}, h("td", {}, k), h("td", {}, v))));

// ---------------------------------------------------------------- trajectories (lazy, per chunk)
const chunks = new Map();
async function chunk(ri, ci) {
  const key = ri + "/" + ci;
  if (!chunks.has(key)) chunks.set(key, (async () => {
    const b64 = $(`agc-${ri}-${ci}`).textContent.trim();
    const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  })());
  return chunks.get(key);
}
async function trajectory(ri, row) { const c = RUNS[ri].chunk; return (await chunk(ri, Math.floor(row / c)))[row % c]; }

// ---------------------------------------------------------------- navigation
const VIEWS = ["summary", "training", "episodes", "compare", "trajectory"];
function show(name) {
  for (const v of VIEWS) $("view-" + v).hidden = v !== name;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === name);
}
function route() {
  const parts = (location.hash.slice(1) || "summary").split("/");
  if (parts[0] === "t") { show("trajectory"); openTrajectory(+parts[1], +parts[2]); return; }
  show(VIEWS.includes(parts[0]) ? parts[0] : "summary");
}

// ---------------------------------------------------------------- summary
function notes(run) {
  return run.notes.map(n => h("div", {class: "note " + n.level}, h("b", {}, n.title + ": "), n.text));
}
const SMALL = {w: 220, h: 100};
function groupCard(run, ri, g) {
  const [lo, hi] = g.success_ci95;
  const errs = Object.entries(g.errors);
  return h("div", {class: "card group"},
    h("h3", {}, `${g.env || "(env)"} · ${g.model || "(model)"}`),
    h("div", {class: "cardbody"}, kv([["episodes", g.episodes],
        ["success", h("span", {}, h("b", {}, pct(g.success_rate)), ` (${g.successes}/${g.episodes}; 95% CI ${pct(lo)}–${pct(hi)}) `,
          h("span", {class: "bar", style: `width:${Math.round(80 * g.success_rate)}px`}))],
        ["mean reward", fmt(g.mean_reward)], ["mean turns", fmt(g.mean_turns, 2)],
        ...Object.entries(g.channels).map(([k, v]) => ["channel " + k, fmt(v) + " / episode"]),
        ["episode ends", Object.entries(g.terminations).map(([k, v]) => `${v} ${k}`).join(", ")]]),
      h("div", {class: "plots"}, histogramPlot("turns", g.turns_hist, SMALL), histogramPlot("tokens", g.tokens_hist, SMALL),
        histogramPlot("tool calls", g.tool_calls_hist, SMALL), histogramPlot("reward", g.reward_hist, SMALL))),
    errs.length ? h("div", {}, h("h3", {}, "errors by termination"), h("table", {class: "grid"},
      h("tr", {}, h("th", {}, "termination"), h("th", {}, "count"), h("th", {}, "first error"), h("th", {}, "")),
      errs.map(([term, e]) => h("tr", {}, h("td", {}, term), h("td", {class: "num"}, e.count), h("td", {}, h("pre", {}, e.first_error)),
        h("td", {}, h("button", {class: "btn", onclick: () => filterTo(ri, {env: g.env, term})}, "show")))))) : null);
}
const STAGES = [["base", "random init"], ["before", "before training"], ["sft", "after SFT"], ["after", "after training"], ["grpo", "after SFT + GRPO"]];
function stageTable(s) {
  const rows = STAGES.filter(([k]) => s[k] && typeof s[k] === "object" && "success_rate" in s[k]);
  if (!rows.length) return null;
  return h("div", {}, h("h3", {}, "held-out evaluation"), h("table", {class: "grid stages"},
    h("tr", {}, ["stage", "success", "95% CI", "episodes", "mean reward", "mean turns", "tool calls/episode"].map(c => h("th", {}, c))),
    rows.map(([k, label]) => { const r = s[k], ci = r.success_ci95 || [null, null];
      return h("tr", {}, h("td", {}, label), h("td", {class: "num"}, pct(r.success_rate)), h("td", {}, `${pct(ci[0])}–${pct(ci[1])}`),
        h("td", {class: "num"}, fmt(r.episodes)), h("td", {class: "num"}, fmt(r.mean_reward)), h("td", {class: "num"}, fmt(r.mean_turns, 2)),
        h("td", {class: "num"}, fmt(r.mean_tool_calls, 2))); })));
}
function overview() {
  const rows = RUNS.flatMap((run, ri) => run.groups.map(g => [run, ri, g]));
  if (!rows.length) return null;
  return h("table", {class: "grid overview"},
    h("tr", {}, ["run", "env", "model", "episodes", "success (95% CI)", "", "mean reward", "mean turns", "errors"].map(c => h("th", {}, c))),
    rows.map(([run, ri, g]) => { const errs = Object.values(g.errors).reduce((a, e) => a + e.count, 0);
      return h("tr", {}, h("td", {}, run.name), h("td", {}, g.env), h("td", {}, g.model), h("td", {class: "num"}, g.episodes),
        h("td", {class: "num"}, `${pct(g.success_rate)} (${pct(g.success_ci95[0])}–${pct(g.success_ci95[1])})`),
        h("td", {}, h("span", {class: "ci"}, h("span", {class: "ci-range", style: `left:${100 * g.success_ci95[0]}%;width:${100 * (g.success_ci95[1] - g.success_ci95[0])}%`}),
          h("span", {class: "ci-point", style: `left:${100 * g.success_rate}%`}))),
        h("td", {class: "num"}, fmt(g.mean_reward)), h("td", {class: "num"}, fmt(g.mean_turns, 2)),
        h("td", {class: "num" + (errs ? " bad" : "")}, errs)); }));
}
function renderSummary() {
  const root = $("view-summary");
  const o = overview();
  if (o) root.append(o);
  RUNS.forEach((run, ri) => root.append(h("div", {class: "run"},
    h("h2", {}, `${run.name} `, h("span", {class: "muted"}, `${run.kind} run · ${run.path}`)),
    notes(run), stageTable(run.summary),
    run.groups.length ? h("div", {class: "cards"}, run.groups.map(g => groupCard(run, ri, g)))
      : h("p", {class: "muted"}, "no trajectories.jsonl in this run directory"),
    h("p", {class: "muted"}, "files: " + run.files.join(", ")))));
}

// ---------------------------------------------------------------- training curves
const CURVES = ["agentgym/success", "reward", "agentgym/env_reward", "agentgym/return", "kl", "entropy", "agentgym/tool_calls",
  "agentgym/turns", "frac_reward_zero_std", "loss", "completions/mean_length", "grad_norm", "learning_rate"];
function renderTraining() {
  const root = $("view-training");
  const trained = RUNS.filter(r => r.metrics.step && r.metrics.step.length);
  if (!trained.length) { root.append(h("p", {class: "muted"}, "No metrics.jsonl in these runs (learning curves come from training runs).")); return; }
  for (const run of trained) {
    const keys = CURVES.filter(k => run.metrics[k] && run.metrics[k].some(v => v != null));
    const rest = Object.keys(run.metrics).filter(k => k !== "step" && !CURVES.includes(k) && run.metrics[k].some(v => v != null));
    root.append(h("h2", {}, run.name), ...notes(run),
      h("div", {class: "plots"}, keys.map(k => linePlot(k, run.metrics.step, run.metrics[k]))),
      rest.length ? h("details", {}, h("summary", {}, `${rest.length} more metrics`),
        h("div", {class: "plots"}, rest.map(k => linePlot(k, run.metrics.step, run.metrics[k], {w: 240, h: 110})))) : null);
  }
}

// ---------------------------------------------------------------- trajectory browser
const state = {run: 0, sortKey: "episode", sortDir: 1, page: 0, rows: []};
const COLS = [["episode", "#"], ["env", "env"], ["task", "task"], ["seed", "seed"], ["success", "success"], ["reward", "reward"],
  ["turns", "turns"], ["termination", "ended"], ["tokens", "tokens"], ["tool_calls", "tool calls"], ["error", "error"]];
function options(sel, values, any = "any") {
  sel.replaceChildren(h("option", {value: ""}, any), ...values.map(v => h("option", {value: v}, v === "" ? "(none)" : v)));
}
function setupFilters() {
  options($("f-run"), RUNS.map((r, i) => String(i)), null);
  $("f-run").replaceChildren(...RUNS.map((r, i) => h("option", {value: i}, r.name)));
  const refill = () => { const E = RUNS[state.run].episodes;
    options($("f-env"), [...new Set(E.env)].sort()); options($("f-term"), [...new Set(E.termination)].sort()); };
  refill();
  $("f-run").addEventListener("change", e => { state.run = +e.target.value; refill(); applyFilters(); });
  for (const id of ["f-env", "f-task", "f-success", "f-rmin", "f-rmax", "f-term"]) $(id).addEventListener("input", applyFilters);
  $("episodes").tHead.append(h("tr", {}, COLS.map(([k, label]) => h("th", {onclick: () => {
    state.sortDir = state.sortKey === k ? -state.sortDir : 1; state.sortKey = k; applyFilters(); }}, label))));
}
function filterTo(ri, f) {
  state.run = ri; $("f-run").value = ri; $("f-run").dispatchEvent(new Event("change"));
  $("f-env").value = f.env || ""; $("f-term").value = f.term || ""; applyFilters(); location.hash = "episodes";
}
function applyFilters() {
  const E = RUNS[state.run].episodes, n = E.episode.length;
  const env = $("f-env").value, task = $("f-task").value.trim().toLowerCase(), succ = $("f-success").value, term = $("f-term").value;
  const rmin = $("f-rmin").value === "" ? -Infinity : +$("f-rmin").value, rmax = $("f-rmax").value === "" ? Infinity : +$("f-rmax").value;
  const rows = [];
  for (let i = 0; i < n; i++) {
    if (env && E.env[i] !== env) continue;
    if (term && E.termination[i] !== term) continue;
    if (succ && E.success[i] !== (succ === "1")) continue;
    const r = E.reward[i] == null ? NaN : E.reward[i];
    if ((rmin > -Infinity || rmax < Infinity) && !(r >= rmin && r <= rmax)) continue;
    if (task && !String(E.task[i]).toLowerCase().includes(task)) continue;
    rows.push(i);
  }
  const col = E[state.sortKey], d = state.sortDir;
  rows.sort((a, b) => { const x = col[a], y = col[b]; return (x === y ? a - b : x == null ? 1 : y == null ? -1 : x < y ? -d : d); });
  state.rows = rows; state.page = 0; renderPage();
}
function renderPage() {
  const E = RUNS[state.run].episodes, rows = state.rows, pages = Math.max(1, Math.ceil(rows.length / PAGE));
  state.page = Math.min(state.page, pages - 1);
  const body = $("episodes").tBodies[0];
  body.replaceChildren(...rows.slice(state.page * PAGE, (state.page + 1) * PAGE).map(i => h("tr", {class: "row", "data-row": i,
    onclick: () => { location.hash = `t/${state.run}/${i}`; }},
    COLS.map(([k]) => h("td", {class: ["reward", "turns", "tokens", "tool_calls", "seed", "episode"].includes(k) ? "num" : ""},
      k === "success" ? okMark(E.success[i]) : k === "reward" ? fmt(E.reward[i]) : fmt(E[k][i]))))));
  $("f-count").textContent = `${rows.length} of ${E.episode.length} episodes`;
  const go = p => () => { state.page = p; renderPage(); };
  $("pager").replaceChildren(h("button", {onclick: go(Math.max(0, state.page - 1)), disabled: state.page === 0}, "‹ prev"),
    h("span", {}, `page ${state.page + 1} of ${pages}`), h("button", {onclick: go(Math.min(pages - 1, state.page + 1)), disabled: state.page >= pages - 1}, "next ›"));
}

// ---------------------------------------------------------------- one trajectory, step by step
const DIFF_RE = /^(diff --git |--- a\/|\+\+\+ b\/|@@ -\d)/m;
function textBlock(text) {
  if (text == null || text === "") return null;
  if (!DIFF_RE.test(text)) return h("pre", {}, text);
  return h("pre", {class: "diff"}, text.split("\n").map(l => h("span", {class: l.startsWith("diff --git") || l.startsWith("+++") || l.startsWith("---") ? "file"
    : l.startsWith("@@") ? "hunk" : l.startsWith("+") ? "add" : l.startsWith("-") ? "del" : ""}, l + "\n")));
}
function callBlock(c) {
  let args = c.arguments, parsed = null;
  try { parsed = JSON.parse(args); args = JSON.stringify(parsed, null, 2); } catch (e) { /* shown as sent */ }
  const long = parsed && typeof parsed === "object" ? Object.values(parsed).filter(v => typeof v === "string" && DIFF_RE.test(v)) : [];
  return h("div", {class: "call"}, h("b", {}, "→ " + c.name), h("span", {class: "muted"}, " " + (c.id || "")), textBlock(args), long.map(textBlock));
}
function steps(t) {
  const out = []; let cur = {messages: []};
  for (const m of t.messages || []) {
    if (m.role === "assistant") { out.push(cur); cur = {messages: []}; }
    cur.messages.push(m);
  }
  out.push(cur);
  return out.map((s, i) => ({...s, reward: (t.rewards || [])[i], channels: (t.channels || [])[i] || {}, info: (t.infos || [])[i] || {}}));
}
function tokenStrip(m) {
  const t = m.tokens; if (!t) return null;
  return h("div", {class: "muted"}, `tokens: ${(t.prompt_ids || []).length} prompt, ${(t.completion_ids || []).length} generated`);
}
function tokenView(t) {
  // what the loss saw: the first prompt (not trained), then per turn the env tokens spliced in (mask 0) and the
  // model's tokens (mask 1); flat records (completion_ids + loss_mask/env_mask) are shown as they are
  if (t.completion_ids && (t.loss_mask || t.env_mask)) {
    const mask = t.loss_mask || t.env_mask;
    return {prompt: [], ids: t.completion_ids, mask, pieces: t.completion_pieces || []};
  }
  if (Array.isArray(t.tokens) && t.tokens.length) {  // schema 2: prompt_ids + one record per model turn
    const prompt = (t.prompt_ids || []).map((id, i) => [id, (t.prompt_pieces || [])[i]]), ids = [], mask = [], pieces = [];
    for (const turn of t.tokens) {
      (turn.completion_ids || []).forEach((id, i) => { ids.push(id); mask.push(1); pieces.push((turn.completion_pieces || [])[i]); });
      (turn.env_ids || []).forEach((id, i) => { ids.push(id); mask.push(0); pieces.push((turn.env_pieces || [])[i]); });
    }
    return {prompt, ids, mask, pieces};
  }
  const turns = (t.messages || []).filter(m => m.role === "assistant" && m.tokens);  // schema 1: tokens on messages
  if (!turns.length) return null;
  const first = turns[0].tokens, prompt = (first.prompt_ids || []).map((id, i) => [id, (first.prompt_pieces || [])[i]]);
  const ids = [], mask = [], pieces = []; let seen = (first.prompt_ids || []).length;
  for (const m of turns) {
    const tk = m.tokens, p = tk.prompt_ids || [], c = tk.completion_ids || [];
    for (let i = Math.min(seen, p.length); i < p.length; i++) { ids.push(p[i]); mask.push(0); pieces.push((tk.prompt_pieces || [])[i]); }
    c.forEach((id, i) => { ids.push(id); mask.push(1); pieces.push((tk.completion_pieces || [])[i]); });
    seen = p.length + c.length;
  }
  return {prompt, ids, mask, pieces};
}
function flatMask(t) {
  const v = tokenView(t);
  if (!v) return null;
  const n = Math.min(v.ids.length, 4000), label = (id, p) => p == null ? String(id) : p;
  return h("div", {class: "tokmask"}, h("h3", {}, `token mask: ${v.mask.filter(x => x).length} of ${v.ids.length} completion tokens in the loss`,
      h("span", {class: "muted"}, " (green: generated by the model, in the loss; grey: prompt and env tokens, masked)")),
    h("div", {class: "tokens"}, v.prompt.slice(0, 2000).map(([id, p]) => h("span", {class: "m0 prompt", title: `prompt id ${id}`}, label(id, p))),
      v.ids.slice(0, n).map((id, i) => h("span", {class: "m" + (v.mask[i] ? 1 : 0), title: `id ${id}`}, label(id, v.pieces[i])))));
}
function messageBlock(m) {
  return h("div", {class: "msg"}, h("span", {class: "role " + m.role}, m.role), m.name ? h("span", {class: "muted"}, m.name) : null,
    textBlock(m.content), (m.tool_calls || []).map(callBlock), tokenStrip(m));
}
function infoBlock(info) {
  const shot = info.screenshot && String(info.screenshot).startsWith("data:image/") ? h("img", {class: "shot", src: info.screenshot, alt: "screenshot"}) : null;
  const rest = Object.fromEntries(Object.entries(info).filter(([k]) => k !== "screenshot"));
  return [shot, Object.keys(rest).length ? h("details", {}, h("summary", {}, "info"), h("pre", {}, JSON.stringify(rest, null, 2))) : null];
}
async function openTrajectory(ri, row) {
  const root = $("view-trajectory");
  root.replaceChildren(h("p", {class: "muted"}, "loading…"));
  let t;
  try { t = await trajectory(ri, row); } catch (e) { root.replaceChildren(h("p", {class: "bad"}, "could not open this trajectory: " + e)); return; }
  if (!t) { root.replaceChildren(h("p", {class: "bad"}, "no such trajectory")); return; }
  root.replaceChildren(h("div", {},
    h("button", {class: "btn back", onclick: () => history.length > 1 ? history.back() : (location.hash = "episodes")}, "← back"),
    h("h2", {}, `${RUNS[ri].name} · episode ${t.episode} · `, okMark(t.success)),
    h("div", {class: "facts"}, [["env", t.env_id || t.env], ["task", t.task_id ?? "–"], ["seed", fmt(t.seed)], ["model", t.model || "–"],
      ["reward", fmt(t.reward)], ["turns", fmt(t.turns)], ["ended", t.termination],
      ["tokens in/out", `${(t.usage || {}).prompt_tokens || 0}/${(t.usage || {}).completion_tokens || 0}`]].map(([k, v]) =>
        h("span", {class: "fact"}, h("span", {class: "muted"}, k + " "), v))),
    t.error ? h("pre", {class: "bad"}, t.error) : null,
    flatMask(t),
    h("div", {id: "steps"}, steps(t).map((s, i) => h("div", {class: "step", "data-step": i},
      h("div", {class: "head"}, h("b", {}, i === 0 ? "reset" : `step ${i}`), h("span", {}, "reward " + fmt(s.reward)),
        Object.entries(s.channels).map(([k, v]) => h("span", {class: "chip"}, `${k} ${fmt(v, 2)}`))),
      s.messages.map(messageBlock), infoBlock(s.info))))));
  window.scrollTo(0, 0);
}

// ---------------------------------------------------------------- compare runs
function byTask(run) {
  const E = run.episodes, m = new Map();
  for (let i = 0; i < E.episode.length; i++) {
    const key = E.task[i] !== "" && E.task[i] != null ? `${E.env[i]} ${E.task[i]}` : `${E.env[i]} seed ${E.seed[i] ?? E.episode[i]}`;
    if (!m.has(key)) m.set(key, {rows: [], wins: 0, reward: 0});
    const e = m.get(key); e.rows.push(i); e.wins += E.success[i] ? 1 : 0; e.reward += E.reward[i] || 0;
  }
  return m;
}
function renderCompare() {
  const root = $("view-compare");
  if (RUNS.length < 2) { root.replaceChildren(h("p", {class: "muted"}, "Pass two or more run directories to compare them: agentgym report RUN_A RUN_B -o report.html")); return; }
  const pick = (id, v) => h("select", {id, onchange: renderCompare}, RUNS.map((r, i) => h("option", {value: i, selected: i === v}, r.name)));
  const a = $("c-a") ? +$("c-a").value : 0, b = $("c-b") ? +$("c-b").value : 1, only = $("c-only") ? $("c-only").checked : true;
  const A = byTask(RUNS[a]), B = byTask(RUNS[b]);
  const keys = [...new Set([...A.keys(), ...B.keys()])].sort();
  let aWins = 0, bWins = 0, same = 0; const rows = [];
  for (const k of keys) {
    const x = A.get(k), y = B.get(k);
    const ra = x ? x.wins / x.rows.length : null, rb = y ? y.wins / y.rows.length : null;
    const differ = ra !== rb;
    if (ra != null && rb != null) { if (ra > rb) aWins++; else if (rb > ra) bWins++; else same++; }
    if (only && !differ) continue;
    const cell = (e, ri) => e ? h("td", {class: "num"}, h("a", {href: `#t/${ri}/${e.rows[0]}`}, `${e.wins}/${e.rows.length}`), " · " + fmt(e.reward / e.rows.length, 2)) : h("td", {class: "muted"}, "not run");
    rows.push(h("tr", {class: differ ? "diffrow" : ""}, h("td", {}, k), cell(x, a), cell(y, b),
      h("td", {class: "num" + (differ ? " diffcell" : "")}, ra == null || rb == null ? "–" : (rb - ra > 0 ? "+" : "") + fmt(rb - ra, 2))));
  }
  root.replaceChildren(h("div", {id: "c-pick"}, "A ", pick("c-a", a), " vs B ", pick("c-b", b), " ",
      h("label", {}, h("input", {type: "checkbox", id: "c-only", checked: only, onchange: renderCompare}), " only tasks that differ")),
    h("p", {id: "c-score"}, `${keys.length} tasks: A better on ${aWins}, B better on ${bWins}, equal on ${same}`),
    h("table", {class: "grid", id: "compare"}, h("tr", {}, ["task", "A: solved · mean reward", "B: solved · mean reward", "B − A success"].map(c => h("th", {}, c))), rows));
}

// ---------------------------------------------------------------- start
function start() {
  $("title").textContent = DATA.title;
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => { location.hash = b.dataset.view; });
  if (!RUNS.some(r => r.metrics.step && r.metrics.step.length)) document.querySelector('[data-view="training"]').hidden = true;
  if (RUNS.length < 2) document.querySelector('[data-view="compare"]').hidden = true;
  renderSummary(); renderTraining(); setupFilters(); applyFilters(); renderCompare();
  window.addEventListener("hashchange", route); route();
  document.body.dataset.ready = String(Math.round(performance.now()));
}
start();

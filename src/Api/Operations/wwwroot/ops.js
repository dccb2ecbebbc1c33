// The operations page: reads /api/v1/ops/overview and one MR's timeline with a read-scoped token.
// The token comes from the URL fragment (never sent to the server, never logged) or the form, and
// lives in sessionStorage only. Every node is built with textContent: nothing from the API is parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(["rebasing", "checking", "building", "verifying", "promoting", "merging"]);
let selected = null;
let refresh = null;
let loads = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

function badge(state) {
  const kind = ACTIVE.has(state) ? "active" : state;
  return el("span", { class: `badge ${kind}`, "data-state": state }, state);
}

function when(iso) {
  return iso ? new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "—";
}

function seconds(s) {
  if (s === null || s === undefined) return "running";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

// A duration that may be unknown (a workflow recorded before requests were timed).
function span(s) {
  return s === null || s === undefined ? "—" : seconds(s);
}

function params() {
  return new URLSearchParams(location.hash.slice(1));
}

function token() {
  return sessionStorage.getItem("orchestrator.token");
}

async function api(path) {
  const response = await fetch(path, { headers: { Authorization: `Bearer ${token()}`, Accept: "application/json" } });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(body?.detail || body?.title || `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

function showLogin(message) {
  clearInterval(refresh);
  $("main").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
  $("status").textContent = "not signed in";
}

function mrLabel(project, iid) {
  return `${project} !${iid}`;
}

// Links go to GitLab only: an address that is not http(s) is shown as text.
function link(href, ...children) {
  const safe = typeof href === "string" && /^https?:\/\//i.test(href);
  const node = safe ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, ...children) : el("span", {}, ...children);
  if (safe) node.addEventListener("click", (event) => event.stopPropagation());
  return node;
}

function projectCell(path, webUrl, id) {
  return el("td", { "data-test": "project" }, link(webUrl, path || String(id)));
}

// "!12 Fix the frobnicator", linked to the MR on GitLab; the iid alone until GitLab's title is known.
function mrName(m) {
  return link(m.webUrl, el("span", { class: "mono" }, `!${m.iid}`), m.title ? el("span", { class: "title", "data-test": "title" }, m.title) : "");
}

function member(kind, m) {
  return el("span", { class: "member", "data-test": kind, "data-iid": m.iid }, mrName(m), " ", badge(m.state),
    el("span", { class: "muted", "data-test": "in-queue" }, ` ${span(m.inQueueSeconds)}`));
}

function queueStatus(q) {
  const cell = el("td", { "data-test": "queue-status" });
  if (q.paused) {
    cell.append(el("span", { class: "badge paused", "data-test": "paused" }, "paused"),
      el("span", { class: "reason", "data-test": "pause-reason" }, q.paused.reason),
      el("span", { class: "reason muted" }, `by ${q.paused.by} since ${when(q.paused.since)}`));
  }
  if (q.embargoedUntil) {
    cell.append(el("span", { class: "badge embargoed", "data-test": "embargoed" }, "embargoed"),
      el("span", { class: "reason muted", "data-test": "embargoed-until" }, `merges again ${when(q.embargoedUntil)}`));
  }
  if (!q.paused && !q.embargoedUntil) cell.append(el("span", { class: "badge open" }, "open"));
  return cell;
}

function renderOverview(overview) {
  const queues = $("queues");
  queues.replaceChildren();
  if (overview.queues.length === 0) queues.append(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, "no merge request is queued")));
  for (const q of overview.queues) {
    const waiting = el("td", {});
    for (const w of q.waiting) waiting.append(member("waiting", w));
    if (q.waiting.length === 0) waiting.append(el("span", { class: "muted" }, "nobody"));
    const holder = q.holder ? el("td", {}, member("holder", q.holder)) : el("td", { class: "muted" }, "free");
    queues.append(el("tr", { "data-test": "queue", "data-project": q.projectId, "data-branch": q.targetBranch },
      projectCell(q.projectPath, q.projectWebUrl, q.projectId), el("td", { class: "mono" }, q.targetBranch), queueStatus(q), holder, waiting));
  }

  renderTrains(overview.trains || []);

  const list = $("merge-requests");
  list.replaceChildren();
  if (overview.mergeRequests.length === 0) list.append(el("tr", {}, el("td", { colSpan: 8, class: "muted" }, "no workflow yet")));
  for (const mr of overview.mergeRequests) {
    const key = `${mr.projectId}/${mr.iid}`;
    const row = el("tr", { class: key === selected ? "link selected" : "link", "data-test": "mr-row", "data-mr": key },
      projectCell(mr.projectPath, mr.projectWebUrl, mr.projectId), el("td", { "data-test": "mr" }, mrName(mr)),
      el("td", { class: "mono" }, mr.targetBranch || "—"), el("td", {}, badge(mr.state)),
      el("td", { class: "outcome", "data-test": "outcome" }, mr.outcome || "—"),
      el("td", { "data-test": "in-queue", "data-seconds": mr.inQueueSeconds ?? "" }, span(mr.inQueueSeconds)),
      el("td", {}, mr.attempt), el("td", { class: "when" }, when(mr.updatedAt)));
    row.addEventListener("click", () => select(key));
    list.append(row);
  }
}

// One table per train: its cars in order, each with what it is tested on top of, its speculative head, its pipeline
// and what it waits for; then who waits for a car and how many landed.
function renderTrains(trains) {
  $("trains-section").hidden = trains.length === 0;
  const host = $("trains");
  host.replaceChildren();
  for (const t of trains) {
    const body = el("tbody", {});
    for (const car of t.train.cars) {
      body.append(el("tr", { "data-test": "car", "data-iid": car.iid, "data-position": car.position },
        el("td", {}, car.position),
        el("td", {}, mrName(car)),
        el("td", { class: "mono", "data-test": "ahead" }, car.ahead.length ? car.ahead.map((i) => `!${i}`).join(", ") : "the branch itself"),
        el("td", { class: "mono", "data-test": "head" }, car.head ? car.head.slice(0, 12) : "—"),
        el("td", { "data-test": "car-status" }, el("span", { class: `badge car-${car.status}` }, car.status)),
        el("td", { class: "mono", "data-test": "pipeline" }, car.pipelineId ?? "—"),
        el("td", { class: "reason", "data-test": "waits-for" }, car.waitsFor)));
    }
    if (t.train.cars.length === 0) body.append(el("tr", {}, el("td", { colSpan: 7, class: "muted" }, "no car is running")));
    const waiting = t.train.waiting.length ? t.train.waiting.map((i) => `!${i}`).join(", ") : "nobody";
    host.append(el("div", { class: "train", "data-test": "train", "data-project": t.projectId, "data-branch": t.branch },
      el("h3", {}, link(t.projectWebUrl, t.projectPath || String(t.projectId)), " ", el("span", { class: "mono" }, t.branch),
        el("span", { class: "muted" }, ` · ${t.train.landed.length} landed · waiting for a car: ${waiting}` +
          (t.train.consistent ? "" : " · replay disagrees with a recorded plan"))),
      el("table", {}, el("thead", {}, el("tr", {}, ...["Car", "Merge request", "Tested on top of", "Head", "Status", "Pipeline", "Waits for"].map((h) => el("th", {}, h)))), body)));
  }
}

// Charts are inline SVG built here, so the page needs no library, no CDN and nothing the CSP forbids.
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
}

// One bar per entry, left to right, with its value above and its label below.
function columns(entries, cls) {
  const w = 220, h = 90, top = 12, bottom = 14, gap = 2;
  const max = Math.max(1, ...entries.map((e) => e.value));
  const width = (w - gap * (entries.length - 1)) / Math.max(1, entries.length);
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img" });
  entries.forEach((e, i) => {
    const height = ((h - top - bottom) * e.value) / max;
    const x = i * (width + gap);
    chart.append(svg("rect", { class: cls, x, y: h - bottom - height, width, height: Math.max(height, 0), "data-label": e.label, "data-value": e.value },
      svg("title", {}, `${e.label}: ${e.value}`)));
    if (e.value > 0) chart.append(svg("text", { x: x + width / 2, y: h - bottom - height - 2, "text-anchor": "middle" }, e.value));
    if (e.tick) chart.append(svg("text", { x: x + width / 2, y: h - 2, "text-anchor": "middle" }, e.tick));
  });
  chart.append(svg("line", { class: "axis", x1: 0, x2: w, y1: h - bottom, y2: h - bottom }));
  return chart;
}

// One labelled bar per entry, top to bottom.
function rows(entries) {
  const w = 220, row = 16, label = 110;
  const max = Math.max(1, ...entries.map((e) => e.value));
  const chart = svg("svg", { viewBox: `0 0 ${w} ${Math.max(1, entries.length) * row}`, role: "img" });
  entries.forEach((e, i) => {
    const y = i * row;
    chart.append(svg("text", { x: 0, y: y + 11 }, e.label),
      svg("rect", { class: e.cls, x: label, y: y + 3, width: ((w - label - 24) * e.value) / max, height: row - 6, "data-label": e.label, "data-value": e.value },
        svg("title", {}, `${e.label}: ${e.text ?? e.value}`)),
      svg("text", { x: label + ((w - label - 24) * e.value) / max + 3, y: y + 11 }, e.text ?? e.value));
  });
  return chart;
}

function durations(id, d) {
  const figure = $(id).parentElement;
  figure.dataset.count = d.count;
  figure.dataset.p50 = d.p50Seconds ?? "";
  figure.dataset.p95 = d.p95Seconds ?? "";
  if (d.count === 0) return $(id).replaceChildren(el("span", { class: "muted" }, "nothing measured yet"));
  $(id).replaceChildren(el("div", { class: "figure" }, `${seconds(d.p50Seconds)} `, el("span", { class: "muted" }, "p50")),
    rows([{ label: "p50", value: d.p50Seconds, text: seconds(d.p50Seconds), cls: "bar-p50" }, { label: "p95", value: d.p95Seconds, text: seconds(d.p95Seconds), cls: "bar-p95" }]),
    el("div", { class: "muted" }, `${d.count} measured`));
}

function renderStats(stats) {
  $("stats-window").textContent = `· ${stats.landingsPerDay.length} days to ${when(stats.to)}`;
  const total = stats.landingsPerDay.reduce((sum, d) => sum + d.merged, 0);
  const landings = $("chart-landings");
  landings.parentElement.dataset.total = total;
  landings.replaceChildren(el("div", { class: "figure" }, `${total} `, el("span", { class: "muted" }, "merged")),
    columns(stats.landingsPerDay.map((d, i, all) => ({ label: d.day, value: d.merged, tick: i === 0 || i === all.length - 1 ? d.day.slice(5) : "" })), "bar-merged"));

  durations("chart-time-to-land", stats.timeToLand);
  durations("chart-ci-time", stats.ciTime);

  const failures = $("chart-failures");
  failures.parentElement.dataset.total = stats.failureReasons.reduce((sum, r) => sum + r.count, 0);
  failures.replaceChildren(stats.failureReasons.length
    ? rows(stats.failureReasons.map((r) => ({ label: r.reason, value: r.count, cls: "bar-failed" })))
    : el("span", { class: "muted" }, "no attempt failed"));

  const images = $("chart-images");
  images.parentElement.dataset.rebuilt = stats.images.rebuilt;
  images.parentElement.dataset.reused = stats.images.reused;
  images.replaceChildren(rows([{ label: "rebuilt", value: stats.images.rebuilt, cls: "bar-rebuilt" }, { label: "reused", value: stats.images.reused, cls: "bar-reused" }]));
}

function renderTimeline(timeline) {
  $("timeline-title").textContent = `Timeline of ${mrLabel(timeline.projectId, timeline.iid)}`;
  const body = $("timeline-body");
  body.replaceChildren();
  const attempts = new Map();
  for (const step of timeline.steps) {
    if (!attempts.has(step.attempt)) attempts.set(step.attempt, []);
    attempts.get(step.attempt).push(step);
  }
  for (const [attempt, steps] of [...attempts].reverse()) {
    const last = steps[steps.length - 1];
    const total = (new Date(last.ended ?? Date.now()) - new Date(steps[0].started)) / 1000;
    const section = el("div", { class: "attempt", "data-test": "attempt", "data-attempt": attempt },
      el("h3", {}, `Attempt ${attempt} `, badge(last.step), el("span", { class: "muted" }, ` · ${seconds(total)} from request to ${ACTIVE.has(last.step) || last.step === "queued" ? "now" : last.step}`)));
    for (const step of steps) {
      const width = total > 0 && step.seconds !== null ? Math.max(0.5, (100 * step.seconds) / total) : 0.5;
      const entries = el("div", {});
      for (const entry of step.entries) {
        const facts = el("ul", { class: "facts" });
        for (const fact of entry.facts) facts.append(el("li", { "data-test": "fact", "data-name": fact.name }, el("b", {}, `${fact.name}: `), el("span", { class: "mono" }, fact.value)));
        entries.append(el("div", { class: "entry", "data-test": "entry", "data-event": entry.event },
          el("span", { class: "when" }, `${when(entry.at)} `), entry.summary, entry.facts.length ? facts : ""));
      }
      section.append(el("div", { class: "step", "data-test": "step", "data-step": step.step },
        el("div", {}, badge(step.step)),
        el("div", {}, el("div", { "data-test": "duration" }, seconds(step.seconds)), el("div", { class: "bar" }), el("div", { class: "when" }, when(step.started))),
        entries));
      section.lastChild.querySelector(".bar").style.width = `${width}%`;
    }
    body.append(section);
  }
  $("timeline").hidden = false;
}

async function load() {
  try {
    const overview = await api("/api/v1/ops/overview");
    renderOverview(overview);
    // The statistics read the event store over days: every few refreshes is often enough.
    if (loads++ % 5 === 0) renderStats(await api("/api/v1/ops/stats"));
    if (selected) {
      const [project, iid] = selected.split("/");
      renderTimeline(await api(`/api/v1/projects/${encodeURIComponent(project)}/merge-requests/${encodeURIComponent(iid)}/timeline`));
    }
    $("status").textContent = `updated ${when(overview.at)}`;
    $("main").hidden = false;
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      sessionStorage.removeItem("orchestrator.token");
      showLogin(`The API refused the token: ${error.message}`);
    } else {
      $("status").textContent = `could not refresh: ${error.message}`;
    }
  }
}

function select(key) {
  selected = key;
  history.replaceState(null, "", `#mr=${key}`);
  load();
}

function start() {
  $("login").hidden = true;
  loads = 0;
  load();
  clearInterval(refresh);
  refresh = setInterval(load, 3000);
}

// A token or MR in the fragment: taken on load and whenever the fragment changes (a pasted link, a bookmark).
function readFragment() {
  const p = params();
  const fresh = p.get("token");
  if (fresh) {
    sessionStorage.setItem("orchestrator.token", fresh);
    p.delete("token");
    history.replaceState(null, "", p.toString() ? `#${p}` : location.pathname);
  }
  if (p.get("mr")) selected = p.get("mr");
  return fresh;
}

window.addEventListener("hashchange", () => {
  if (readFragment() || token()) start();
});

window.addEventListener("DOMContentLoaded", () => {
  readFragment();
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("orchestrator.token", $("token").value.trim());
    $("token").value = "";
    start();
  });
  if (token()) start(); else showLogin();
});

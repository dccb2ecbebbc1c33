// The operations page: reads /api/v1/ops/overview and one MR's timeline with a read-scoped token.
// The token comes from the URL fragment (never sent to the server, never logged) or the form, and
// lives in sessionStorage only. Every node is built with textContent: nothing from the API is parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(["rebasing", "checking", "building", "verifying", "promoting", "merging"]);
let selected = null;
let refresh = null;

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

function renderOverview(overview) {
  const queues = $("queues");
  queues.replaceChildren();
  if (overview.queues.length === 0) queues.append(el("tr", {}, el("td", { colSpan: 4, class: "muted" }, "no merge request is queued")));
  for (const q of overview.queues) {
    const waiting = el("td", {});
    for (const w of q.waiting) waiting.append(el("span", { class: "mono", "data-test": "waiting", "data-iid": w.iid }, `!${w.iid} `), badge(w.state), " ");
    if (q.waiting.length === 0) waiting.append(el("span", { class: "muted" }, "nobody"));
    const holder = q.holder
      ? el("td", {}, el("span", { class: "mono", "data-test": "holder", "data-iid": q.holder.iid }, `!${q.holder.iid} `), badge(q.holder.state))
      : el("td", { class: "muted" }, "free");
    queues.append(el("tr", { "data-test": "queue", "data-project": q.projectId, "data-branch": q.targetBranch },
      el("td", {}, q.projectId), el("td", { class: "mono" }, q.targetBranch), holder, waiting));
  }

  const list = $("merge-requests");
  list.replaceChildren();
  if (overview.mergeRequests.length === 0) list.append(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, "no workflow yet")));
  for (const mr of overview.mergeRequests) {
    const key = `${mr.projectId}/${mr.iid}`;
    const row = el("tr", { class: key === selected ? "link selected" : "link", "data-test": "mr-row", "data-mr": key },
      el("td", {}, mr.projectId), el("td", { class: "mono" }, `!${mr.iid}`), el("td", {}, badge(mr.state)),
      el("td", {}, mr.attempt), el("td", { class: "when" }, when(mr.updatedAt)));
    row.addEventListener("click", () => select(key));
    list.append(row);
  }
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

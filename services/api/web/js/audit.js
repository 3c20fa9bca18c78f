// The audit log: who logged in, changed a client, rotated keys, exported or purged, newest first, paged.
import * as api from "./api.js";
import { $, cell, clear, el, loading, pager, report, timeEl } from "./dom.js";

const LIMIT = 50;
let offset = 0;
let loaded = false;
let render = null;

/** {"rows": 3, "plate": {...}} as "rows: 3 · plate: {…}" (text only, never HTML). */
function details(entry) {
  const parts = [];
  for (const [side, value] of [["before", entry.before], ["after", entry.after]]) {
    if (!value) continue;
    const text = Object.entries(value)
      .map(([k, v]) => `${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v) : v}`)
      .join(" · ");
    parts.push(entry.before ? `${side}: ${text}` : text);
  }
  return parts.join(" | ");
}

function row(entry) {
  return el(
    "tr",
    { dataset: { seq: entry.seq } },
    el("td", { class: "num", dataset: { label: "No." } }, String(entry.seq)),
    cell("Time", timeEl(entry.at)),
    cell("Who", entry.actor || el("span", { class: "muted", text: "unknown" })),
    cell("Action", entry.action.replaceAll("_", " ")),
    cell("Subject", entry.subject || ""),
    el("td", { class: "wide", dataset: { label: "Details" } }, details(entry)),
  );
}

async function load(at) {
  const body = $("#audit-table tbody");
  try {
    const page = await loading("audit", () => api.getJson("/audit", { limit: LIMIT, offset: at }));
    clear(body).append(...page.items.map(row));
    $("#audit-summary").textContent = page.total ? `${page.total} entries` : "Nothing recorded yet.";
    render(page);
    offset = at;
    loaded = true;
  } catch (e) {
    report(e); // what was shown stays
  }
}

export default {
  id: "audit",
  init() {
    render = pager($("#audit-pager"), load);
    $("#audit-refresh").addEventListener("click", () => load(offset));
  },
  enter() {
    if (!loaded) load(0);
  },
  refresh: () => load(offset),
  leave() {},
  reset() {
    clear($("#audit-table tbody"));
    $("#audit-summary").textContent = "";
    $("#audit-pager").hidden = true;
    loaded = false;
    offset = 0;
  },
};

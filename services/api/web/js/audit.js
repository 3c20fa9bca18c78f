// The audit log, newest first, paged: logins, clients, keys, exports, purges, and the owner's changes
// (corrections, tariffs, payments, plate lists, webhooks) with what each changed.
import * as api from "./api.js";
import { $, cell, clear, el, loading, pager, report, timeEl } from "./dom.js";

const LIMIT = 50;
let offset = 0;
let loaded = false;
let render = null;

/** What an action means to the owner; others read as their name ("client_create" → "client create"). */
const ACTIONS = {
  "correction.plate": "plate corrected",
  "correction.void": "event voided",
  "correction.restore": "event restored",
  "correction.merge": "visits merged",
  "correction.split": "visit split",
  tariff: "tariff version",
  payment: "payment",
  "list.add": "list: plate added",
  "list.change": "list: entry changed",
  "list.remove": "list: plate removed",
  "webhook.add": "webhook added",
  "webhook.remove": "webhook removed",
};

const show = (v) => (typeof v === "object" && v !== null ? JSON.stringify(v) : String(v));

/**
 * {"rows": 3} as "rows: 3"; a change as what it changed, "plate: ABC1284 → ABC1234" (keys left alone
 * are not repeated). Text only, never HTML.
 */
function details(entry) {
  const { before, after } = entry;
  if (entry.redacted) return "removed after the retention period";
  if (before && after) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    const changes = keys.filter((k) => show(before[k]) !== show(after[k]));
    return changes.map((k) => `${k}: ${show(before[k] ?? "—")} → ${show(after[k] ?? "—")}`).join(" · ") || "no change";
  }
  const side = before || after;
  if (!side) return "";
  const text = Object.entries(side).map(([k, v]) => `${k}: ${show(v)}`).join(" · ");
  return before ? `before: ${text}` : text;
}

function row(entry) {
  return el(
    "tr",
    { dataset: { seq: entry.seq } },
    el("td", { class: "num", dataset: { label: "No." } }, String(entry.seq)),
    cell("Time", timeEl(entry.at)),
    cell("Who", entry.actor || el("span", { class: "muted", text: "unknown" })),
    cell("Action", ACTIONS[entry.action] || entry.action.replaceAll("_", " ")),
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

// Visits (entry, exit, time parked) with filters; a row opens the visit with its events; CSV export.
import * as api from "./api.js";
import { links, openVisit } from "./cards.js";
import { $, cell, clear, el, fmtDuration, formParams, notify, pager, plateEl, saveBlob, statusBadge, timeEl } from "./dom.js";

const LIMIT = 25;
let params = {};
let loaded = false;
let render = null;
const form = () => $("#visits-form");
const body = () => $("#visits-table tbody");

export function visitRow(v, { withPlate = true } = {}) {
  return el(
    "tr",
    { class: "clickable", onclick: () => openVisit(v) },
    withPlate ? cell("Plate", plateEl(v.plate, links.openVehicle)) : null,
    cell("Status", statusBadge(v.status)),
    cell("Entry", timeEl(v.entry_time)),
    cell("Exit", timeEl(v.exit_time)),
    el("td", { class: "num", dataset: { label: v.status === "parked" ? "Parked so far" : "Time parked" } }, fmtDuration(v.duration_s)),
    el(
      "td",
      {},
      el("button", {
        type: "button",
        class: "secondary small",
        text: "Open",
        onclick: (e) => {
          e.stopPropagation();
          openVisit(v);
        },
      }),
    ),
  );
}

async function load(offset) {
  try {
    const page = await api.getJson("/visits", { ...params, limit: LIMIT, offset });
    clear(body()).append(...page.items.map((v) => visitRow(v)));
    const done = page.items.filter((v) => v.status === "completed");
    $("#visits-summary").textContent = page.total
      ? `${page.total} visit${page.total === 1 ? "" : "s"}` +
        (done.length ? ` · average stay on this page ${fmtDuration(done.reduce((s, v) => s + v.duration_s, 0) / done.length)}` : "")
      : "No visits in this range.";
    render(page);
    loaded = true;
  } catch (e) {
    if (e.status !== 401) notify(e.message);
  }
}

async function exportCsv() {
  try {
    const { blob, filename } = await api.downloadCsv("/export/visits.csv", params);
    saveBlob(blob, filename);
  } catch (e) {
    if (e.status !== 401) notify(e.message);
  }
}

export default {
  id: "visits",
  init() {
    render = pager($("#visits-pager"), load);
    form().addEventListener("submit", (e) => {
      e.preventDefault();
      params = formParams(form());
      load(0);
    });
    form().querySelector('[data-action="export"]').addEventListener("click", () => {
      params = formParams(form());
      exportCsv();
    });
  },
  enter() {
    if (!loaded) load(0);
  },
  leave() {},
  reset() {
    clear(body());
    form().reset();
    params = {};
    loaded = false;
    $("#visits-summary").textContent = "";
    $("#visits-pager").hidden = true;
  },
};

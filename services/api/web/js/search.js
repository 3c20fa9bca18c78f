// Search events by plate (exact or one misread allowed), time range, type and camera; paginated;
// CSV export of the same filters from the API.
import * as api from "./api.js";
import { links, releaseWithin, snapshotEl } from "./cards.js";
import { $, capitalize, cell, clear, el, fmtPercent, formParams, notify, pager, plateEl, saveBlob, timeEl, typeBadge } from "./dom.js";

const LIMIT = 25;
let params = {};
let loaded = false;
let render = null;
const form = () => $("#search-form");
const body = () => $("#search-table tbody");

export function eventRow(e, { withPlate = true } = {}) {
  return el(
    "tr",
    { dataset: { eventId: e.event_id } },
    cell("Time", timeEl(e.time)),
    cell("Type", typeBadge(e.type)),
    withPlate ? cell("Plate", plateEl(e.plate, links.openVehicle)) : null,
    cell("Camera", e.camera),
    cell("Vehicle", capitalize(e.vehicle_class)),
    el("td", { class: "num", dataset: { label: "Confidence" } }, fmtPercent(e.confidence)),
    el("td", { class: "wide" }, snapshotEl(e, "thumb", { zoom: true })),
  );
}

async function load(offset) {
  try {
    const page = await api.getJson("/events", { ...params, limit: LIMIT, offset });
    releaseWithin(body());
    clear(body()).append(...page.items.map((e) => eventRow(e)));
    $("#search-summary").textContent = page.total
      ? `${page.total} event${page.total === 1 ? "" : "s"}${params.plate ? ` for ${params.plate}` : ""}`
      : "No events match.";
    render(page);
    loaded = true;
  } catch (e) {
    if (e.status !== 401) notify(e.message);
  }
}

async function exportCsv() {
  try {
    const { blob, filename } = await api.downloadCsv("/export/events.csv", params);
    saveBlob(blob, filename);
  } catch (e) {
    if (e.status !== 401) notify(e.message);
  }
}

export default {
  id: "search",
  init() {
    render = pager($("#search-pager"), load);
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
    releaseWithin(body());
    clear(body());
    form().reset();
    params = {};
    loaded = false;
    $("#search-summary").textContent = "";
    $("#search-pager").hidden = true;
  },
};

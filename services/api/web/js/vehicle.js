// One vehicle's history: its visits (last year) and its events, newest first, each paged.
import * as api from "./api.js";
import { releaseWithin } from "./cards.js";
import { $, clear, el, fmtDuration, fmtPlate, fmtTime, loading, pager, report } from "./dom.js";
import { eventRow } from "./search.js";
import { visitRow } from "./visits.js";

const LIMIT = 25;
const YEAR_MS = 365 * 24 * 3600 * 1000;
let plate = null;
let since = null;
let renderEvents = null;
let renderVisits = null;

function tile(value, label) {
  return el("div", { class: "tile" }, el("span", { class: "tile-value", text: value }), el("span", { class: "tile-label", text: label }));
}

async function loadEvents(offset) {
  const body = $("#vehicle-events tbody");
  try {
    const page = await loading("vehicle", () => api.getJson("/events", { plate, limit: LIMIT, offset }));
    releaseWithin(body);
    clear(body).append(...page.items.map((e) => eventRow(e, { withPlate: false })));
    renderEvents(page);
    return page;
  } catch (e) {
    report(e);
    return null;
  }
}

async function loadVisits(offset) {
  const body = $("#vehicle-visits tbody");
  try {
    const page = await loading("vehicle", () => api.getJson("/visits", { plate, since, limit: LIMIT, offset }));
    releaseWithin(body);
    clear(body).append(...page.items.map((v) => visitRow(v, { withPlate: false })));
    renderVisits(page);
    return page;
  } catch (e) {
    report(e);
    return null;
  }
}

async function load() {
  $("#vehicle-plate").textContent = fmtPlate(plate);
  clear($("#vehicle-tiles"));
  since = new Date(Date.now() - YEAR_MS).toISOString();
  const [visits, events] = await Promise.all([loadVisits(0), loadEvents(0)]);
  if (!visits) return;
  const latest = visits.items[0]; // newest first
  const inside = latest && latest.status === "parked";
  $("#vehicle-tiles").append(
    tile(String(visits.total), "visits in the last year"),
    tile(inside ? "Inside" : "Not inside", inside ? `for ${fmtDuration(latest.duration_s)}` : "now"),
    tile(visits.avg_stay_s === null ? "—" : fmtDuration(visits.avg_stay_s), "average stay"),
    events && events.items.length
      ? tile(fmtTime(events.items[0].time).slice(11, 16), `last seen ${fmtTime(events.items[0].time).slice(0, 10)}`)
      : tile("—", "last seen"),
  );
}

export default {
  id: "vehicle",
  open(p) {
    plate = p;
    if (location.hash === "#vehicle") load();
    else location.hash = "#vehicle";
  },
  init() {
    renderEvents = pager($("#vehicle-pager"), loadEvents);
    renderVisits = pager($("#vehicle-visits-pager"), loadVisits);
    $("#vehicle-back").addEventListener("click", (e) => {
      if (history.length > 1) {
        e.preventDefault();
        history.back();
      }
    });
  },
  enter() {
    if (!plate) location.replace("#search");
    else load();
  },
  refresh() {
    if (plate) load();
  },
  leave() {},
  reset() {
    plate = null;
    releaseWithin($("#vehicle-events tbody"));
    releaseWithin($("#vehicle-visits tbody"));
    for (const sel of ["#vehicle-events tbody", "#vehicle-visits tbody", "#vehicle-tiles", "#vehicle-plate"]) clear($(sel));
    $("#vehicle-pager").hidden = true;
    $("#vehicle-visits-pager").hidden = true;
  },
};

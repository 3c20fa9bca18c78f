// One vehicle's history: its visits (last year) and its events, newest first.
import * as api from "./api.js";
import { releaseWithin } from "./cards.js";
import { $, clear, el, fmtDuration, fmtPlate, fmtTime, notify, pager } from "./dom.js";
import { eventRow } from "./search.js";
import { visitRow } from "./visits.js";

const LIMIT = 25;
const YEAR_MS = 365 * 24 * 3600 * 1000;
let plate = null;
let render = null;

function tile(value, label) {
  return el("div", { class: "tile" }, el("span", { class: "tile-value", text: value }), el("span", { class: "tile-label", text: label }));
}

async function loadEvents(offset) {
  const body = $("#vehicle-events tbody");
  try {
    const page = await api.getJson("/events", { plate, limit: LIMIT, offset });
    releaseWithin(body);
    clear(body).append(...page.items.map((e) => eventRow(e, { withPlate: false })));
    render(page);
    return page;
  } catch (e) {
    if (e.status !== 401) notify(e.message);
    return null;
  }
}

async function load() {
  $("#vehicle-plate").textContent = fmtPlate(plate);
  clear($("#vehicle-tiles"));
  try {
    const [visits, events] = await Promise.all([
      api.getJson("/visits", { plate, since: new Date(Date.now() - YEAR_MS).toISOString(), limit: 100 }),
      loadEvents(0),
    ]);
    const rows = [...visits.items].reverse(); // newest first
    clear($("#vehicle-visits tbody")).append(...rows.map((v) => visitRow(v, { withPlate: false })));
    const done = visits.items.filter((v) => v.status === "completed");
    const inside = rows.length && rows[0].status === "parked";
    $("#vehicle-tiles").append(
      tile(String(visits.total), "visits in the last year"),
      tile(inside ? "Inside" : "Not inside", inside ? `for ${fmtDuration(rows[0].duration_s)}` : "now"),
      tile(done.length ? fmtDuration(done.reduce((s, v) => s + v.duration_s, 0) / done.length) : "—", "average stay"),
      events && events.items.length
        ? tile(fmtTime(events.items[0].time).slice(11, 16), `last seen ${fmtTime(events.items[0].time).slice(0, 10)}`)
        : tile("—", "last seen"),
    );
  } catch (e) {
    if (e.status !== 401) notify(e.message);
  }
}

export default {
  id: "vehicle",
  open(p) {
    plate = p;
    if (location.hash === "#vehicle") load();
    else location.hash = "#vehicle";
  },
  init() {
    render = pager($("#vehicle-pager"), loadEvents);
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
  leave() {},
  reset() {
    plate = null;
    releaseWithin($("#vehicle-events tbody"));
    for (const sel of ["#vehicle-events tbody", "#vehicle-visits tbody", "#vehicle-tiles", "#vehicle-plate"]) clear($(sel));
  },
};

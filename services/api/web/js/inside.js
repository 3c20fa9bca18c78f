// Vehicles inside now (occupancy): entered and not seen leaving, with a snapshot each. Cars inside
// longer than the longest stay are listed apart as overstays (or a missed exit), never dropped.
// The view refreshes itself: on every stored event (feed.js) and every half minute for the times.
import * as api from "./api.js";
import { links, openVisit, snapshotEl } from "./cards.js";
import { $, cell, clear, el, fmtDuration, fmtTime, loading, plateEl, report, timeEl } from "./dom.js";
import * as feed from "./feed.js";

const TICK_MS = 30_000;
const body = () => $("#inside-table tbody");
const overBody = () => $("#inside-overstays tbody");
let unwatch = null;
let timer = null;
let pending = null;

function row(v, status) {
  const visit = {
    plate: v.plate,
    status,
    entry_event_id: v.entry_event_id,
    entry_time: v.entry_time,
    exit_time: null,
    duration_s: v.parked_s,
  };
  return el(
    "tr",
    { class: "clickable", dataset: { eventId: v.entry_event_id }, onclick: () => openVisit(visit) },
    cell("Plate", plateEl(v.plate, links.openVehicle)),
    cell("Entered", timeEl(v.entry_time)),
    el("td", { class: "num", dataset: { label: status === "parked" ? "Parked for" : "Inside for" } }, fmtDuration(v.parked_s)),
    el("td", { class: "wide" }, snapshotEl({ event_id: v.entry_event_id, plate: v.plate }, "thumb", { zoom: true })),
  );
}

function fill(tbody, vehicles, status, empty) {
  const rows = [...vehicles].sort((a, b) => Date.parse(b.entry_time) - Date.parse(a.entry_time));
  clear(tbody).append(...rows.map((v) => row(v, status)));
  if (!rows.length && empty) tbody.append(el("tr", {}, el("td", { colspan: 4, class: "muted", text: empty })));
}

async function load() {
  try {
    const occ = await loading("inside", () => api.getJson("/occupancy"));
    $("#inside-count").textContent = String(occ.count);
    // Free spaces only where the owner configured the lot's capacity (API_LOT_SPACES).
    $("#inside-free-tile").hidden = occ.capacity == null;
    if (occ.capacity != null) {
      $("#inside-free").textContent = String(occ.free);
      $("#inside-capacity").textContent = `free of ${occ.capacity} spaces`;
    }
    fill(body(), occ.vehicles, "parked", "The lot is empty.");
    const over = occ.overstays || [];
    $("#inside-over").hidden = !over.length;
    $("#inside-over-count").textContent = String(over.length);
    fill(overBody(), over, "overstay", "");
    $("#inside-updated").textContent = `Updated ${fmtTime(occ.at).slice(11)}, by itself as cars come and go.`;
  } catch (e) {
    report(e);
  }
}

/** Many events at once (a burst, a resync) make one reload. */
function soon() {
  clearTimeout(pending);
  pending = setTimeout(load, 300);
}

export default {
  id: "inside",
  init() {
    $("#inside-refresh").addEventListener("click", load);
  },
  enter() {
    load();
    if (!unwatch) unwatch = feed.watch({ onEvent: (type) => (type === "stored" || type === "resync") && soon() });
    clearInterval(timer);
    timer = setInterval(load, TICK_MS);
  },
  refresh: load,
  leave() {
    if (unwatch) unwatch();
    unwatch = null;
    clearInterval(timer);
    clearTimeout(pending);
  },
  reset() {
    this.leave();
    clear(body());
    clear(overBody());
    $("#inside-over").hidden = true;
    $("#inside-count").textContent = "–";
    $("#inside-updated").textContent = "";
  },
};

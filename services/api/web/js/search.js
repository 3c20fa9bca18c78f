// Search events by plate (exact or one misread allowed), time range, type and camera; paginated;
// CSV export of the same filters from the API.
import { links, readAsEl, snapshotEl } from "./cards.js";
import { capitalize, cell, el, fmtPercent, plateEl, timeEl, typeBadge } from "./dom.js";
import { filteredList } from "./filtered.js";

export function eventRow(e, { withPlate = true } = {}) {
  return el(
    "tr",
    { dataset: { eventId: e.event_id } },
    cell("Time", timeEl(e.time)),
    cell("Type", typeBadge(e.type)),
    withPlate ? cell("Plate", readAsEl(e), plateEl(e.plate, links.openVehicle)) : null,
    cell("Camera", e.camera),
    cell("Vehicle", capitalize(e.vehicle_class)),
    el("td", { class: "num", dataset: { label: "Confidence" } }, fmtPercent(e.confidence)),
    el("td", { class: "wide" }, snapshotEl(e, "thumb", { zoom: true })),
  );
}

export default filteredList({
  id: "search",
  path: "/events",
  exportPath: "/export/events.csv",
  row: (e) => eventRow(e),
  summary: (page, params) =>
    page.total
      ? `${page.total} event${page.total === 1 ? "" : "s"}${params.plate ? ` for ${params.plate}` : ""}`
      : "No events match.",
});

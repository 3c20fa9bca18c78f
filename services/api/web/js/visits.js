// Visits (entry, exit, time parked) with filters; a row opens the visit with its events; CSV export.
import { links, openVisit } from "./cards.js";
import { cell, el, fmtDuration, plateEl, statusBadge, timeEl } from "./dom.js";
import { filteredList } from "./filtered.js";

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

export default filteredList({
  id: "visits",
  path: "/visits",
  exportPath: "/export/visits.csv",
  row: (v) => visitRow(v),
  summary: (page) => {
    if (!page.total) return "No visits in this range.";
    const done = page.items.filter((v) => v.status === "completed");
    const avg = done.length ? fmtDuration(done.reduce((s, v) => s + v.duration_s, 0) / done.length) : null;
    return `${page.total} visit${page.total === 1 ? "" : "s"}` + (avg ? ` · average stay on this page ${avg}` : "");
  },
});

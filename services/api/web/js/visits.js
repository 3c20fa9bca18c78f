// Visits (entry, exit, time parked) with filters and a snapshot per row; a row opens the visit with
// its events; CSV export. The summary's average covers the whole range (the API computes it).
import { links, openVisit, snapshotEl } from "./cards.js";
import { cell, el, fmtDuration, plateEl, statusBadge, timeEl } from "./dom.js";
import { feeEl } from "./fees.js";
import { filteredList } from "./filtered.js";

export function visitRow(v, { withPlate = true } = {}) {
  const first = v.entry_event_id ? { event_id: v.entry_event_id } : { event_id: v.exit_event_id };
  return el(
    "tr",
    { class: "clickable", onclick: () => openVisit(v) },
    withPlate ? cell("Plate", plateEl(v.plate, links.openVehicle)) : null,
    cell("Status", statusBadge(v.status)),
    cell("Entry", timeEl(v.entry_time)),
    cell("Exit", timeEl(v.exit_time)),
    el("td", { class: "num", dataset: { label: v.status === "parked" ? "Parked so far" : "Time parked" } }, fmtDuration(v.duration_s)),
    cell("Fee", feeEl(v.billing)),
    el("td", { class: "wide" }, snapshotEl({ ...first, plate: v.plate }, "thumb", { zoom: true })),
    el(
      "td",
      {},
      el("button", {
        type: "button",
        class: "secondary small",
        text: "Open",
        "aria-label": "Open this visit",
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
    const avg = page.avg_stay_s === null || page.avg_stay_s === undefined ? null : fmtDuration(page.avg_stay_s);
    return (
      `${page.total} visit${page.total === 1 ? "" : "s"}` +
      (avg ? ` · average stay ${avg} (${page.completed} completed)` : "")
    );
  },
  hint: (params) =>
    params.since || params.until
      ? `Visits that began ${params.since ? `from ${params.since.replace("T", " ")}` : ""}${params.until ? ` until ${params.until.replace("T", " ")}` : " until now"}.`
      : "Without dates: visits of the last 24 hours.",
});

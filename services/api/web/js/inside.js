// Vehicles inside now (occupancy): entered and not seen leaving.
import * as api from "./api.js";
import { links, openVisit } from "./cards.js";
import { $, cell, clear, el, fmtDuration, notify, plateEl, timeEl } from "./dom.js";

const body = () => $("#inside-table tbody");

async function load() {
  try {
    const occ = await api.getJson("/occupancy");
    $("#inside-count").textContent = String(occ.count);
    const rows = [...occ.vehicles].sort((a, b) => Date.parse(b.entry_time) - Date.parse(a.entry_time));
    clear(body()).append(
      ...rows.map((v) =>
        el(
          "tr",
          {
            class: "clickable",
            onclick: () =>
              openVisit({
                plate: v.plate,
                status: "parked",
                entry_event_id: v.entry_event_id,
                entry_time: v.entry_time,
                exit_time: null,
                duration_s: v.parked_s,
              }),
          },
          cell("Plate", plateEl(v.plate, links.openVehicle)),
          cell("Entered", timeEl(v.entry_time)),
          el("td", { class: "num", dataset: { label: "Parked for" } }, fmtDuration(v.parked_s)),
        ),
      ),
    );
    if (!rows.length) body().append(el("tr", {}, el("td", { colspan: 3, class: "muted", text: "The lot is empty." })));
  } catch (e) {
    if (e.status !== 401) notify(e.message);
  }
}

export default {
  id: "inside",
  init() {
    $("#inside-refresh").addEventListener("click", load);
  },
  enter: load,
  leave() {},
  reset() {
    clear(body());
    $("#inside-count").textContent = "–";
  },
};

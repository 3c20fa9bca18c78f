// Pieces the views share: snapshots (fetched with the session, shown as blob: URLs), event cards,
// and the detail dialog for a snapshot or a visit.
import * as api from "./api.js";
import { eventTools, visitTools } from "./corrections.js";
import { feeEl } from "./fees.js";
import { $, capitalize, clear, el, fmtDuration, fmtPercent, fmtPlate, plateEl, report, statusBadge, timeEl, typeBadge } from "./dom.js";

/** Set by main.js: open a vehicle's history. */
export const links = { openVehicle: () => {}, openTicket: () => {} };

/** Blob URLs are freed when the images holding them leave the page. */
export function releaseWithin(root) {
  for (const img of root.querySelectorAll("img[data-blob]")) URL.revokeObjectURL(img.src);
}

/**
 * A snapshot, fetched with the session. `event` needs event_id (and plate for the zoom's title);
 * has_snapshot false shows "no snapshot" without asking. With zoom it is a button (mouse, touch and
 * keyboard) that opens the snapshot at full resolution.
 */
export function snapshotEl(event, cls, { zoom = false } = {}) {
  if (event.has_snapshot === false) return el("div", { class: `${cls} none`, text: "no snapshot" });
  const alt = `${zoom ? "Zoom snapshot" : "Snapshot"} of ${fmtPlate(event.plate || "")}`.trim();
  const img = el("img", { class: cls, alt, decoding: "async" });
  const shown = zoom
    ? el("button", { type: "button", class: `snap-button ${cls}-button`, title: "Zoom", onclick: (e) => (e.stopPropagation(), openSnapshot(event)) }, img)
    : img;
  api
    .snapshotUrl(event.event_id)
    .then((src) => {
      img.dataset.blob = "1";
      img.src = src;
      if (!img.isConnected) setTimeout(() => !img.isConnected && URL.revokeObjectURL(src), 60_000);
    })
    .catch((e) => {
      if (e.status === 401) return;
      const text = e.status === 404 ? "no snapshot" : "snapshot unavailable";
      shown.replaceWith(el("div", { class: `${cls} none`, text }));
    });
  return shown;
}

/** A corrected plate keeps its misread in sight: "ABC-1284 → ABC-1234". */
export function readAsEl(event) {
  if (!event.read_as) return null;
  return el("span", { class: "read-as", title: "as the camera read it" }, el("s", { text: fmtPlate(event.read_as) }), " →");
}

export function eventCard(event, { fresh = false, tools = null } = {}) {
  return el(
    "li",
    { class: `card event-card${fresh ? " new" : ""}`, dataset: { eventId: event.event_id } },
    snapshotEl(event, "snap", { zoom: true }),
    el(
      "div",
      { class: "body" },
      el("div", { class: "line" }, readAsEl(event), plateEl(event.plate, links.openVehicle), typeBadge(event.type)),
      el(
        "dl",
        {},
        el("dt", { text: "Time" }),
        el("dd", {}, timeEl(event.time)),
        el("dt", { text: "Camera" }),
        el("dd", { text: event.camera }),
        el("dt", { text: "Vehicle" }),
        el("dd", { text: capitalize(event.vehicle_class) }),
        el("dt", { text: "Confidence" }),
        el("dd", { text: `${fmtPercent(event.confidence)} (${event.read_count} reads)` }),
      ),
      tools,
    ),
  );
}

// -- the dialog -----------------------------------------------------------------------------------------
function openDialog(...content) {
  const dialog = $("#detail");
  const body = $("#detail-body");
  releaseWithin(body);
  clear(body).append(...content.filter(Boolean));
  if (!dialog.open) dialog.showModal();
}

export function closeDialog() {
  const dialog = $("#detail");
  if (dialog.open) dialog.close();
  releaseWithin($("#detail-body"));
  clear($("#detail-body"));
}

export function initDialog() {
  $("#detail-close").addEventListener("click", closeDialog);
  $("#detail").addEventListener("close", () => {
    releaseWithin($("#detail-body"));
    clear($("#detail-body"));
  });
}

function facts(pairs) {
  return el("dl", { class: "facts" }, pairs.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
}

/**
 * The snapshot at full resolution: fitted first, then 1:1 around the point clicked or tapped (the
 * plate), scrollable; the button and the +/- keys switch too.
 */
function zoomable(event) {
  const img = snapshotEl(event, "full");
  const box = el("div", { class: "zoom", tabindex: "0", role: "group", "aria-label": "Snapshot; + and - zoom" }, img);
  const toggle = el("button", { type: "button", class: "secondary small", text: "Full resolution", "aria-pressed": "false" });
  const set = (on, fx = 0.5, fy = 0.6) => {
    box.classList.toggle("zoomed", on);
    toggle.setAttribute("aria-pressed", String(on));
    toggle.textContent = on ? "Fit to screen" : "Full resolution";
    if (on) {
      box.scrollLeft = fx * box.scrollWidth - box.clientWidth / 2;
      box.scrollTop = fy * box.scrollHeight - box.clientHeight / 2;
    }
  };
  toggle.addEventListener("click", () => set(!box.classList.contains("zoomed")));
  box.addEventListener("click", (e) => {
    if (e.target.tagName !== "IMG") return;
    const r = e.target.getBoundingClientRect();
    set(!box.classList.contains("zoomed"), (e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
  });
  box.addEventListener("keydown", (e) => {
    if (e.key === "+" || e.key === "=") set(true);
    else if (e.key === "-") set(false);
  });
  return [toggle, box];
}

export function openSnapshot(event) {
  const [toggle, box] = zoomable(event);
  const details = event.time
    ? facts([
        ["Time", timeEl(event.time)],
        ["Camera", event.camera],
        ["Vehicle", capitalize(event.vehicle_class)],
        ["Confidence", `${fmtPercent(event.confidence)} (${event.read_count} reads)`],
        ["Other reads", otherReads(event) || "—"],
      ])
    : null;
  openDialog(
    el("h3", {}, plateEl(event.plate, links.openVehicle), event.type ? typeBadge(event.type) : null, toggle),
    box,
    details,
  );
}

/** What else the reader thought the plate said (its own read left out). */
function otherReads(event) {
  return event.candidates
    .filter((c) => c.text !== event.plate)
    .map((c) => `${fmtPlate(c.text)} ${fmtPercent(c.confidence)}`)
    .join(", ");
}

/** A visit: its facts at once, then its entry and exit events (with snapshots) from the API. */
export async function openVisit(visit) {
  const grid = el("ul", { class: "cards detail-grid" }, el("li", { class: "muted", text: "Loading events…" }));
  openDialog(
    el("h3", {}, "Visit ", plateEl(visit.plate, links.openVehicle), statusBadge(visit.status)),
    facts([
      ["Entry", timeEl(visit.entry_time)],
      ["Exit", timeEl(visit.exit_time)],
      [visit.status === "parked" || visit.status === "overstay" ? "Parked so far" : "Time parked", fmtDuration(visit.duration_s)],
      ["Cameras", [visit.entry_camera, visit.exit_camera].filter(Boolean).join(" → ") || "—"],
      ...(visit.billing ? [["Fee", feeEl(visit.billing)]] : []),
    ]),
    visit.billing
      ? el("button", { type: "button", class: "small", text: `Ticket ${visit.billing.ticket_id}`, onclick: () => links.openTicket(visit.billing.visit_key) })
      : null,
    visitTools(visit, { reopen: openVisit, done: closeDialog }),
    grid,
  );
  const times = [visit.entry_time, visit.exit_time].filter(Boolean).map(Date.parse);
  const ids = new Set([visit.entry_event_id, visit.exit_event_id].filter(Boolean));
  try {
    const page = await api.getJson("/events", {
      plate: visit.plate,
      since: new Date(Math.min(...times)).toISOString(),
      until: new Date(Math.max(...times) + 1000).toISOString(),
      limit: 100,
    });
    const events = page.items.filter((e) => ids.has(e.event_id)).reverse(); // entry first
    clear(grid).append(...events.map((e) => eventCard(e, { tools: eventTools(e, closeDialog) })));
    if (!events.length) grid.append(el("li", { class: "muted", text: "The events of this visit were not found." }));
  } catch (e) {
    report(e);
  }
}

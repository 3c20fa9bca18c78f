// A visit's ticket: a receipt to print (entry and exit in lot time, duration, plate, snapshots, the
// tariff applied and the fee), and its payment status, which the signed-in client sets.
import * as api from "./api.js";
import { releaseWithin, snapshotEl } from "./cards.js";
import { $, clear, el, fmtDuration, fmtPlate, fmtTime, loading, notify, report, statusBadge } from "./dom.js";
import { fmtMoney } from "./fees.js";
import visits from "./visits.js";

let key = null;

function row(label, value) {
  return [el("dt", { text: label }), el("dd", {}, value)];
}

function render(t) {
  const v = t.visit;
  const b = v.billing;
  const fee = b.fee;
  const tariff = t.tariff;
  const snaps = [v.entry_event_id, v.exit_event_id]
    .filter(Boolean)
    .map((id) => el("figure", { class: "ticket-snap" }, snapshotEl({ event_id: id, plate: v.plate }, "thumb")));
  $("#ticket-id").textContent = b.ticket_id;
  releaseWithin($("#ticket-body"));
  clear($("#ticket-body")).append(
    el(
      "dl",
      { class: "facts ticket-facts" },
      row("Plate", el("span", { class: "plate", text: fmtPlate(v.plate) })),
      row("Entry", fmtTime(v.entry_time) || "—"),
      row("Exit", fmtTime(v.exit_time) || (v.status === "parked" ? "still inside" : "—")),
      row(v.status === "parked" ? "Parked so far" : "Duration", fmtDuration(v.duration_s)),
      row("Tariff", tariff ? `version ${tariff.version}, from ${fmtTime(tariff.effective_from)}` : "none in effect at entry"),
      row("Fee", fee ? `${fmtMoney(fee.amount, fee.currency)}${fee.final ? "" : " so far"}` : "—"),
      row("Payment", statusBadge(b.payment.status)),
      b.payment.set_by ? row("Set by", `${b.payment.set_by}, ${fmtTime(b.payment.set_at)}`) : null,
    ),
    el("div", { class: "ticket-snaps" }, snaps),
    el("p", { class: "muted small-text", text: `Times are the lot's local time (${t.timezone}). Ticket ${b.ticket_id}.` }),
  );
  for (const button of document.querySelectorAll("#ticket-actions [data-status]")) {
    button.disabled = button.dataset.status === b.payment.status || (button.dataset.status === "paid" && !fee);
  }
}

async function load() {
  try {
    render(await loading("ticket", () => api.getJson(`/tickets/${encodeURIComponent(key)}`)));
  } catch (e) {
    report(e);
  }
}

async function setStatus(status) {
  try {
    await loading("ticket", () => api.send(`/payments/${encodeURIComponent(key)}`, { method: "PUT", body: { status } }));
    notify(`Ticket marked ${status}.`, "info");
    visits.refresh(); // the list behind shows the new status when the user goes back
    await load();
  } catch (e) {
    report(e);
  }
}

export default {
  id: "ticket",
  open(visitKey) {
    key = visitKey;
    if (location.hash === "#ticket") load();
    else location.hash = "#ticket";
  },
  init() {
    $("#ticket-print").addEventListener("click", () => window.print());
    for (const button of document.querySelectorAll("#ticket-actions [data-status]")) {
      button.addEventListener("click", () => setStatus(button.dataset.status));
    }
  },
  enter() {
    if (!key) location.replace("#visits");
    else load();
  },
  refresh() {
    if (key) load();
  },
  leave() {},
  reset() {
    key = null;
    releaseWithin($("#ticket-body"));
    clear($("#ticket-body"));
    $("#ticket-id").textContent = "";
  },
};

// The owner's corrections, from the visit dialog: an event's plate corrected or the event voided, a
// visit split, and a visit without exit merged with a later one without entry (or the reverse) whose
// plate is up to two characters off. The API keeps what the camera read beside each correction.
import * as api from "./api.js";
import { el, fmtPlate, fmtTime, notify, report } from "./dom.js";

const MERGE_WINDOW_MS = 24 * 3600 * 1000; // candidates: within a day of the visit
const MAX_OFF = 2; // characters a misread plate may differ by

/** Edit distance between two plates (a misread drops, adds or swaps a character). */
export function plateDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

const keyOf = (v) => v.entry_event_id || v.exit_event_id;

/** Lists behind the dialog reload (main.js listens). */
function changed() {
  document.dispatchEvent(new CustomEvent("anpr:records-changed"));
}

async function post(path, body) {
  return (await api.send(path, { method: "POST", body })).json();
}

/** A button that asks once more before it acts ("Void" → "Confirm void"). */
function confirmButton(text, confirmText, act) {
  const button = el("button", { type: "button", class: "secondary small", text });
  button.addEventListener("click", async () => {
    if (button.dataset.armed !== "1") {
      button.dataset.armed = "1";
      button.textContent = confirmText;
      return;
    }
    button.disabled = true;
    try {
      await act();
    } catch (e) {
      report(e);
      button.disabled = false;
    }
  });
  return button;
}

/** Under an event card: correct its plate (a small form) or void it. `done` closes the dialog. */
export function eventTools(event, done) {
  const error = el("p", { class: "error", role: "alert" });
  const input = el("input", { name: "plate", required: true, maxlength: "16", spellcheck: "false", autocapitalize: "characters", value: event.plate });
  const form = el(
    "form",
    { class: "correct-form", hidden: true },
    el("label", {}, "Right plate ", input),
    el("button", { type: "submit", class: "small", text: "Save" }),
    el("button", { type: "button", class: "secondary small", text: "Cancel", onclick: () => (form.hidden = true) }),
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      const fix = await post(`/events/${event.event_id}/plate`, { plate: input.value });
      notify(`Plate corrected: ${fmtPlate(event.read_as || event.plate)} → ${fmtPlate(fix.plate)}`, "info");
      changed();
      done();
    } catch (err) {
      error.textContent = err.message;
    }
  });
  const correct = el("button", {
    type: "button",
    class: "secondary small",
    text: "Correct plate",
    onclick: () => {
      form.hidden = false;
      input.focus();
    },
  });
  const voider = confirmButton("Void", "Confirm: void this event", async () => {
    await post(`/events/${event.event_id}/void`, { voided: true });
    notify(`The ${event.type} of ${fmtPlate(event.plate)} at ${fmtTime(event.time)} is voided.`, "info");
    changed();
    done();
  });
  return el("div", { class: "tools" }, correct, voider, form);
}

/** The visits a broken visit may merge with: the other half, near in time, plate ≤ 2 characters off. */
async function mergeCandidates(visit) {
  const open = !visit.exit_event_id; // an entry waiting for its exit
  const at = Date.parse(open ? visit.entry_time : visit.exit_time);
  const [since, until] = open ? [at, at + MERGE_WINDOW_MS] : [at - MERGE_WINDOW_MS, at + 1000];
  const page = await api.getJson("/visits", { since: new Date(since).toISOString(), until: new Date(until).toISOString(), limit: 500 });
  return page.items.filter((v) => {
    if (keyOf(v) === keyOf(visit) || plateDistance(v.plate, visit.plate) > MAX_OFF) return false;
    return open
      ? !v.entry_event_id && Date.parse(v.exit_time) > at
      : v.entry_event_id && !v.exit_event_id && Date.parse(v.entry_time) < at;
  });
}

async function merge(visit, other, reopen) {
  const merged = await post("/visits/merge", { visit_keys: [keyOf(visit), keyOf(other)] });
  notify(`Merged into one visit of ${fmtPlate(merged.plate)}.`, "info");
  changed();
  const { visit: billed } = await api.getJson(`/tickets/${keyOf(merged)}`);
  reopen(billed);
}

function candidateItem(visit, other, reopen) {
  const time = other.exit_event_id && !other.entry_event_id ? `exit ${fmtTime(other.exit_time)}` : `entry ${fmtTime(other.entry_time)}`;
  const camera = other.exit_camera || other.entry_camera || "";
  const button = el("button", { type: "button", class: "small", text: "Merge", "aria-label": `Merge with ${fmtPlate(other.plate)}, ${time}` });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await merge(visit, other, reopen);
    } catch (e) {
      report(e);
      button.disabled = false;
    }
  });
  return el("li", {}, el("span", { class: "plate", text: fmtPlate(other.plate) }), ` ${time} · ${camera} `, button);
}

/** Under a visit's facts: split it (entry and exit both seen) or merge it with its other half. */
export function visitTools(visit, { reopen, done }) {
  const tools = el("div", { class: "tools" });
  if (visit.entry_event_id && visit.exit_event_id) {
    tools.append(
      confirmButton("Split entry and exit", "Confirm: split into two visits", async () => {
        await post(`/visits/${keyOf(visit)}/split`);
        notify(`The visit of ${fmtPlate(visit.plate)} is split into two.`, "info");
        changed();
        done();
      }),
    );
    return tools;
  }
  const list = el("ul", { class: "merge-list", "aria-label": "Visits to merge with" });
  const find = el("button", { type: "button", class: "secondary small", text: "Merge with…" });
  find.addEventListener("click", async () => {
    find.disabled = true;
    try {
      const found = await mergeCandidates(visit);
      list.replaceChildren(
        ...(found.length
          ? found.map((other) => candidateItem(visit, other, reopen))
          : [el("li", { class: "muted", text: "No visit within a day with a plate up to two characters off." })]),
      );
    } catch (e) {
      report(e);
    } finally {
      find.disabled = false;
    }
  });
  tools.append(find, list);
  return tools;
}

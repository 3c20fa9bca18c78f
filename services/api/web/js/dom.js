// DOM building and formatting. Data only ever enters the page as text (textContent / attributes set
// one by one), never as HTML.

/** el("td", {class: "num", dataset: {label: "Time"}}, "text", childNode) */
export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:")
    ? document.createElementNS("http://www.w3.org/2000/svg", tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.setAttribute("class", value);
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function clear(node) {
  node.replaceChildren();
  return node;
}

// -- times: shown as the API gives them, in the lot's time zone (never the browser's) -----------------
const ISO = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;

export function parseIso(iso) {
  const m = ISO.exec(iso || "");
  return m ? { date: m[1], hm: m[2], sec: m[3] || ":00", offset: m[5] === "Z" ? "+00:00" : m[5] || "" } : null;
}

/** "2025-03-01 14:03:22" */
export function fmtTime(iso) {
  const p = parseIso(iso);
  return p ? `${p.date} ${p.hm}${p.sec}` : "";
}

export function offsetOf(iso) {
  const p = parseIso(iso);
  return p ? p.offset : "";
}

/** A <time> showing lot-local time; the full ISO value (with offset) as its datetime and tooltip. */
export function timeEl(iso) {
  if (!iso) return el("span", { class: "muted", text: "—" });
  return el("time", { datetime: iso, title: iso, text: fmtTime(iso) });
}

/** For ?since=/?until=: a datetime-local value has no offset, which the API reads as lot time. */
export function localInput(value) {
  return value ? (value.length === 16 ? `${value}:00` : value) : undefined;
}

/** The lot's time zone (set at sign-in from the API): named on every page, used for date presets. */
export const lot = { timezone: "", offset: "" };

/** The lot's wall clock now, as {date: "2025-03-01", hour: 14} (the browser may be elsewhere). */
export function lotNow() {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: lot.timezone || undefined,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date());
  const get = (type) => parts.find((p) => p.type === type).value;
  return { date: `${get("year")}-${get("month")}-${get("day")}`, hour: Number(get("hour")) };
}

/** A plain date moved by `days` ("2025-03-01", -1 → "2025-02-28"); no time zone involved. */
export function addDays(date, days) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Seconds as h:mm, as spreadsheets show durations. */
export function fmtHmm(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const min = Math.round(seconds / 60);
  return `${Math.floor(min / 60)}:${String(min % 60).padStart(2, "0")}`;
}

export function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return `${h} h ${String(min % 60).padStart(2, "0")} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export const fmtPercent = (x) => `${Math.round(x * 100)}%`;

// -- plates: stored normalised (ABC1234), printed in the lot's format (ABC-1234) ----------------------
const LETTERS = /^[A-Z]$/;
const DIGITS = /^[0-9]$/;
const ANY = /^[A-Z0-9]$/;
const SLOT = { A: LETTERS, "@": LETTERS, 0: DIGITS, "#": DIGITS, "*": ANY };

function readFormats() {
  const meta = document.querySelector('meta[name="anpr-plate-formats"]');
  return (meta ? meta.content : "").split(",").map((f) => f.trim()).filter(Boolean);
}
const FORMATS = readFormats();

export function fmtPlate(plate) {
  for (const spec of FORMATS) {
    const slots = [...spec].filter((c) => c in SLOT);
    if (slots.length !== plate.length || ![...plate].every((c, i) => SLOT[slots[i]].test(c))) continue;
    let i = 0;
    return [...spec].map((c) => (c in SLOT ? plate[i++] : c)).join("");
  }
  return plate;
}

export function plateEl(plate, onOpen) {
  const text = fmtPlate(plate);
  if (!onOpen) return el("span", { class: "plate", text });
  return el("button", {
    type: "button",
    class: "plate",
    title: "History of this vehicle",
    text,
    onclick: (e) => {
      e.stopPropagation();
      onOpen(plate);
    },
  });
}

const TYPE_LABEL = { entry: "Entry", exit: "Exit" };
const STATUS_LABEL = { parked: "Parked", completed: "Completed", no_entry: "No entry seen", no_exit: "No exit seen", overstay: "Overstay" };

export const typeBadge = (type) => el("span", { class: `badge ${type}`, text: TYPE_LABEL[type] || type });
export const statusBadge = (status) => el("span", { class: `badge ${status}`, text: STATUS_LABEL[status] || status });
export const capitalize = (s) => (s ? s[0].toUpperCase() + s.slice(1) : s);

/** A table cell with the label phones show above its value. */
export function cell(label, ...children) {
  return el("td", { dataset: label ? { label } : undefined }, ...children);
}

// -- CSV, for what is computed in the page (the API exports events and visits itself) -----------------
export function toCsv(header, rows) {
  const quote = (v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(quote).join(",")).join("\r\n") + "\r\n";
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

// -- the banner for errors and notices -----------------------------------------------------------------
let bannerTimer = null;
export function notify(message, kind = "error") {
  const banner = $("#banner");
  banner.textContent = message;
  banner.className = `banner ${kind}`;
  banner.hidden = false;
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => (banner.hidden = true), 8000);
}
export function clearNotice() {
  $("#banner").hidden = true;
}

/** A failed request, told once: an ended session and an unreachable service have their own place. */
export function report(e) {
  if (e.name === "AbortError" || e.status === 401 || e.offline) return;
  notify(e.message);
}

/**
 * Run a view's request with the view marked as loading: aria-busy, a "Loading…" note, its buttons
 * disabled and the old rows dimmed (they stay until the answer replaces them).
 */
export async function loading(viewId, work) {
  const section = $(`#view-${viewId}`);
  let note = section.querySelector(".loading-note");
  if (!note) {
    note = el("p", { class: "loading-note", role: "status" });
    section.querySelector(".view-head").after(note);
  }
  const count = Number(section.dataset.loads || 0) + 1;
  section.dataset.loads = String(count);
  section.setAttribute("aria-busy", "true");
  section.classList.add("loading");
  note.textContent = "Loading…";
  for (const b of section.querySelectorAll("form button, .view-head button")) {
    if (!b.disabled) b.dataset.busyDisabled = "1";
    b.disabled = true;
  }
  try {
    return await work();
  } finally {
    const left = Number(section.dataset.loads) - 1;
    section.dataset.loads = String(left);
    if (left === 0) {
      section.removeAttribute("aria-busy");
      section.classList.remove("loading");
      note.textContent = "";
      for (const b of section.querySelectorAll("[data-busy-disabled]")) {
        delete b.dataset.busyDisabled;
        b.disabled = false;
      }
    }
  }
}

// -- paging --------------------------------------------------------------------------------------------
/** Wire a .pager block once; returns render(page) for {total, limit, offset} answers. */
export function pager(root, go) {
  const prev = root.querySelector('[data-page="prev"]');
  const next = root.querySelector('[data-page="next"]');
  const label = root.querySelector('[data-page="label"]');
  let state = { total: 0, limit: 1, offset: 0 };
  prev.addEventListener("click", () => go(Math.max(0, state.offset - state.limit)));
  next.addEventListener("click", () => go(state.offset + state.limit));
  return (page) => {
    state = page;
    root.hidden = page.total <= page.limit && page.offset === 0;
    prev.disabled = page.offset === 0;
    next.disabled = page.offset + page.limit >= page.total;
    const last = Math.min(page.total, page.offset + page.items.length);
    label.textContent = page.total ? `${page.offset + 1}–${last} of ${page.total}` : "";
  };
}

/** Form fields as API parameters: empty fields left out, datetime-local read as lot time. */
export function formParams(form) {
  const data = new FormData(form);
  const params = {};
  for (const [k, v] of data.entries()) {
    if (v === "") continue;
    params[k] = k === "since" || k === "until" ? localInput(v) : k === "tolerant" ? "true" : v;
  }
  return params;
}

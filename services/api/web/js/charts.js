// Charts drawn here as SVG (no library): entries and exits per hour or day, average stay per
// period, and the busiest hours of the day, for a range of the lot's days (presets or two dates).
// Each chart has a table of its values beside it; CSV export of the periods shown.
import * as api from "./api.js";
import { $, addDays, clear, el, fmtDuration, fmtHmm, loading, lotNow, parseIso, report, saveBlob, toCsv } from "./dom.js";

const HOUR_MS = 3600 * 1000;
let shown = null; // {range, stats, hourly, now}
let resizeTimer = null;

// -- drawing -------------------------------------------------------------------------------------------
function niceStep(max, ticks) {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
}

/**
 * Grouped bars: labels[i] on the x axis, one bar per series; format() for the y ticks and tooltips;
 * partial[i] marks a period not over yet. A table of the same values follows the chart.
 */
export function barChart(container, { title, labels, series, format = String, height = 220, integer = false, partial = [] }) {
  const width = Math.max(300, Math.floor(container.clientWidth || 600));
  const m = { l: 46, r: 8, t: 10, b: 28 };
  const plotW = width - m.l - m.r;
  const plotH = height - m.t - m.b;
  const values = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  const top = Math.max(...values, 0);
  let step = niceStep(top || 1, 4);
  if (integer) step = Math.max(1, Math.ceil(step));
  const max = Math.max(step, Math.ceil(top / step) * step);
  const y = (v) => m.t + plotH - (v / max) * plotH;
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}: bar chart; its values are in the table below it` });
  for (let v = 0; v <= max + 1e-9; v += step) {
    svg.append(
      el("svg:line", { class: "grid", x1: m.l, x2: width - m.r, y1: y(v), y2: y(v) }),
      el("svg:text", { class: "label", x: m.l - 6, y: y(v) + 4, "text-anchor": "end" }, format(v)),
    );
  }
  const band = plotW / Math.max(1, labels.length);
  const barW = Math.max(1, (band * 0.78) / series.length);
  const every = Math.ceil(labels.length / Math.max(2, Math.floor(plotW / 56)));
  labels.forEach((label, i) => {
    const x0 = m.l + i * band + band * 0.11;
    series.forEach((s, k) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const h = Math.max(v > 0 ? 1 : 0, (v / max) * plotH);
      const cls = partial[i] ? `${s.cls} partial` : s.cls;
      svg.append(
        el(
          "svg:rect",
          { class: cls, x: x0 + k * barW, y: m.t + plotH - h, width: Math.max(1, barW - 1), height: h, rx: 1.5 },
          el("svg:title", {}, `${label}${partial[i] ? " (so far)" : ""} · ${s.name}: ${format(v)}`),
        ),
      );
    });
    if (i % every === 0) {
      svg.append(el("svg:text", { class: "label", x: m.l + i * band + band / 2, y: height - 10, "text-anchor": "middle" }, label));
    }
  });
  const tableOpen = container.querySelector("details")?.open; // a redraw (resize) keeps it open
  clear(container).append(svg);
  if (series.length > 1) {
    container.append(el("div", { class: "legend" }, series.map((s) => el("span", { class: s.cls.replace("bar-", ""), text: s.name }))));
  }
  if (partial.some(Boolean)) {
    container.append(el("p", { class: "partial-note", text: "Lighter bars: periods not over yet (so far)." }));
  }
  const table = valueTable(title, labels, series, format, partial);
  table.open = Boolean(tableOpen);
  container.append(table);
}

function valueTable(title, labels, series, format, partial) {
  const show = (v) => (v === null || v === undefined ? "—" : format(v));
  return el(
    "details",
    { class: "chart-table" },
    el("summary", { text: "Table of these values" }),
    el(
      "table",
      { class: "data compact" },
      el("caption", { class: "visually-hidden", text: title }),
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Period" }), series.map((s) => el("th", { scope: "col", text: s.name })))),
      el(
        "tbody",
        {},
        labels.map((label, i) =>
          el("tr", {}, el("th", { scope: "row", text: partial[i] ? `${label} (so far)` : label }), series.map((s) => el("td", { class: "num", text: show(s.values[i]) }))),
        ),
      ),
    ),
  );
}

// -- data ----------------------------------------------------------------------------------------------
const WEEKDAY = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function weekday(date) {
  const [yy, mm, dd] = date.split("-").map(Number);
  return new Date(Date.UTC(yy, mm - 1, dd)).getUTCDay();
}

function bucketLabel(start, interval, multiDay) {
  const p = parseIso(start);
  if (!p) return start;
  if (interval === "hour") return multiDay ? `${WEEKDAY[weekday(p.date)]} ${p.hm}` : p.hm;
  return `${WEEKDAY[weekday(p.date)]} ${p.date.slice(5)}`;
}

/** A whole hour of the lot's wall clock, `hours` from the current one: "2025-03-01T13:00:00". */
function hourFromNow(hours) {
  const now = lotNow();
  const [y, m, d] = now.date.split("-").map(Number);
  return new Date(Date.UTC(y, m - 1, d, now.hour + hours)).toISOString().slice(0, 19);
}

const day = (date) => `${date}T00:00:00`;

/** The presets, in the lot's days (weeks start on Monday); until absent = now. */
export const PRESETS = {
  "24h": () => ({ since: hourFromNow(-23), interval: "hour", title: "last 24 hours" }),
  today: (t) => ({ since: day(t), interval: "hour", title: "today" }),
  yesterday: (t) => ({ since: day(addDays(t, -1)), until: day(t), interval: "hour", title: "yesterday" }),
  "this-week": (t) => ({ since: day(addDays(t, -((weekday(t) + 6) % 7))), interval: "day", title: "this week" }),
  "last-week": (t) => {
    const monday = addDays(t, -((weekday(t) + 6) % 7));
    return { since: day(addDays(monday, -7)), until: day(monday), interval: "day", title: "last week" };
  },
  "7d": (t) => ({ since: day(addDays(t, -6)), interval: "day", title: "last 7 days" }),
  "this-month": (t) => ({ since: day(`${t.slice(0, 8)}01`), interval: "day", title: "this month" }),
  "last-month": (t) => {
    const first = `${t.slice(0, 8)}01`;
    return { since: day(`${addDays(first, -1).slice(0, 8)}01`), until: day(first), interval: "day", title: "last month" };
  },
  "30d": (t) => ({ since: day(addDays(t, -29)), interval: "day", title: "last 30 days" }),
  custom: () => {
    const from = $("#charts-from").value;
    const to = $("#charts-to").value;
    if (!from || !to || to < from) return null;
    const days = Math.round((Date.parse(to) - Date.parse(from)) / (24 * HOUR_MS)) + 1;
    return { since: day(from), until: day(addDays(to, 1)), interval: days <= 2 ? "hour" : "day", title: `${from} to ${to}` };
  },
};

function stayScale(stats) {
  const top = Math.max(0, ...stats.buckets.map((b) => b.avg_stay_s || 0));
  return top >= 2 * 3600 ? { div: 3600, unit: "h" } : { div: 60, unit: "min" };
}

/** A period is partial when it has not ended yet. */
function partialFlags(stats, now) {
  const len = stats.interval === "hour" ? HOUR_MS : 24 * HOUR_MS;
  return stats.buckets.map((b) => Date.parse(b.start) + len > now);
}

/** Per hour of the day: the mean over the days of the range that reached that hour. */
function busiestHours(hourly, now) {
  const sums = Array.from({ length: 24 }, () => ({ entries: 0, exits: 0, days: 0 }));
  for (const b of hourly.buckets) {
    if (Date.parse(b.start) > now) continue;
    const s = sums[Number(parseIso(b.start).hm.slice(0, 2))];
    s.entries += b.entries;
    s.exits += b.exits;
    s.days += 1;
  }
  const days = Math.max(1, ...sums.map((s) => s.days));
  const mean = (s, key) => (s.days ? s[key] / s.days : null);
  return { days, perHour: sums.map((s) => ({ entries: mean(s, "entries"), exits: mean(s, "exits") })) };
}

function tile(value, label) {
  return el("div", { class: "tile" }, el("span", { class: "tile-value", text: value }), el("span", { class: "tile-label", text: label }));
}

function draw() {
  if (!shown) return;
  const { range, stats, hourly, now } = shown;
  const multiDay = stats.buckets.length > 24;
  const labels = stats.buckets.map((b) => bucketLabel(b.start, stats.interval, multiDay));
  const partial = partialFlags(stats, now);
  const flowTitle = `Entries and exits per ${stats.interval}, ${range.title}`;
  $("#chart-flow-title").textContent = flowTitle;
  barChart($("#chart-flow"), {
    title: flowTitle,
    labels,
    partial,
    integer: true,
    series: [
      { name: "Entries", cls: "bar-entries", values: stats.buckets.map((b) => b.entries) },
      { name: "Exits", cls: "bar-exits", values: stats.buckets.map((b) => b.exits) },
    ],
  });
  const scale = stayScale(stats);
  barChart($("#chart-stay"), {
    title: "Average stay",
    labels,
    partial,
    series: [{ name: "Average stay", cls: "bar-stay", values: stats.buckets.map((b) => (b.avg_stay_s === null ? null : b.avg_stay_s / scale.div)) }],
    format: (v) => `${Math.round(v * 10) / 10} ${scale.unit}`,
  });
  const busy = busiestHours(hourly, now);
  const busyTitle = `Busiest hours (average per day over ${busy.days} day${busy.days === 1 ? "" : "s"})`;
  $("#chart-busy-title").textContent = busyTitle;
  barChart($("#chart-busy"), {
    title: busyTitle,
    labels: busy.perHour.map((_, h) => `${String(h).padStart(2, "0")}:00`),
    series: [
      { name: "Entries", cls: "bar-entries", values: busy.perHour.map((h) => h.entries) },
      { name: "Exits", cls: "bar-exits", values: busy.perHour.map((h) => h.exits) },
    ],
    format: (v) => `${Math.round(v * 100) / 100}`,
  });

  const entries = stats.buckets.reduce((s, b) => s + b.entries, 0);
  const exits = stats.buckets.reduce((s, b) => s + b.exits, 0);
  // Mean of the periods' averages, weighted by their exits (the API gives a mean per period).
  const weighted = stats.buckets.filter((b) => b.avg_stay_s !== null && b.exits > 0);
  const weight = weighted.reduce((s, b) => s + b.exits, 0);
  const avgStay = weight ? weighted.reduce((s, b) => s + b.avg_stay_s * b.exits, 0) / weight : null;
  const peak = busy.perHour.reduce((best, h, i) => ((h.entries || 0) + (h.exits || 0) > best.n ? { i, n: h.entries + h.exits } : best), { i: -1, n: 0 });
  clear($("#charts-tiles")).append(
    tile(String(entries), "entries"),
    tile(String(exits), "exits"),
    tile(avgStay === null ? "—" : fmtDuration(avgStay), "average stay"),
    tile(peak.i < 0 ? "—" : `${String(peak.i).padStart(2, "0")}:00`, "busiest hour"),
  );
}

function rangeOf() {
  const preset = $("#charts-range").value;
  $("#charts-custom").hidden = preset !== "custom";
  return PRESETS[preset](lotNow().date);
}

async function load() {
  const range = rangeOf();
  if (!range) return; // custom, dates not both set yet
  const params = { interval: range.interval, since: range.since, until: range.until };
  try {
    const [stats, hourly] = await loading("charts", async () => {
      const main = await api.getJson("/stats", params);
      return [main, range.interval === "hour" ? main : await api.getJson("/stats", { ...params, interval: "hour" })];
    });
    shown = { range, stats, hourly, now: Date.now() };
    draw();
  } catch (e) {
    report(e);
  }
}

function exportCsv() {
  if (!shown) return;
  const { stats, range } = shown;
  const when = (iso) => (stats.interval === "hour" ? `${parseIso(iso).date} ${parseIso(iso).hm}` : parseIso(iso).date);
  const rows = stats.buckets.map((b) => [when(b.start), b.entries, b.exits, b.avg_stay_s === null ? "" : Math.round(b.avg_stay_s), fmtHmm(b.avg_stay_s)]);
  const csv = toCsv([stats.interval === "hour" ? "hour" : "day", "entries", "exits", "avg_stay_s", "avg_stay"], rows);
  const first = parseIso(stats.buckets[0]?.start)?.date || range.since.slice(0, 10);
  const last = parseIso(stats.buckets.at(-1)?.start)?.date || first;
  saveBlob(new Blob([csv], { type: "text/csv" }), `stats-per-${stats.interval}_${first}_to_${last}.csv`);
}

export default {
  id: "charts",
  init() {
    $("#charts-range").addEventListener("change", load);
    $("#charts-from").addEventListener("change", load);
    $("#charts-to").addEventListener("change", load);
    $("#charts-export").addEventListener("click", exportCsv);
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => !$("#view-charts").hidden && draw(), 150);
    });
  },
  enter: load,
  refresh: load,
  leave() {},
  reset() {
    shown = null;
    for (const sel of ["#chart-flow", "#chart-stay", "#chart-busy", "#charts-tiles"]) clear($(sel));
  },
};

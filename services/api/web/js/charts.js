// Charts drawn here as SVG (no library): entries and exits per hour or day, average stay per
// period, and the busiest hours of the day. CSV export of the periods shown.
import * as api from "./api.js";
import { $, clear, el, fmtDuration, notify, parseIso, saveBlob, toCsv } from "./dom.js";

const DAY_MS = 24 * 3600 * 1000;
const RANGES = {
  "24h": { interval: "hour", days: 1, title: "Entries and exits per hour" },
  "7d": { interval: "day", days: 7, title: "Entries and exits per day" },
  "30d": { interval: "day", days: 30, title: "Entries and exits per day" },
};
let shown = null; // {range, stats, hourly}
let resizeTimer = null;

// -- drawing -------------------------------------------------------------------------------------------
function niceStep(max, ticks) {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
}

/** Grouped bars: labels[i] on the x axis, one bar per series; format() for the y ticks and tooltips. */
export function barChart(container, { labels, series, format = String, height = 220, integer = false }) {
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
  const svg = el("svg:svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
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
      svg.append(
        el(
          "svg:rect",
          { class: s.cls, x: x0 + k * barW, y: m.t + plotH - h, width: Math.max(1, barW - 1), height: h, rx: 1.5 },
          el("svg:title", {}, `${label} · ${s.name}: ${format(v)}`),
        ),
      );
    });
    if (i % every === 0) {
      svg.append(el("svg:text", { class: "label", x: m.l + i * band + band / 2, y: height - 10, "text-anchor": "middle" }, label));
    }
  });
  clear(container).append(svg);
  if (series.length > 1) {
    container.append(el("div", { class: "legend" }, series.map((s) => el("span", { class: s.cls.replace("bar-", ""), text: s.name }))));
  }
}

// -- data ----------------------------------------------------------------------------------------------
const WEEKDAY = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

function bucketLabel(start, interval) {
  const p = parseIso(start);
  if (!p) return start;
  if (interval === "hour") return p.hm;
  const [yy, mm, dd] = p.date.split("-").map(Number);
  return `${WEEKDAY[new Date(Date.UTC(yy, mm - 1, dd)).getUTCDay()]} ${p.date.slice(5)}`;
}

function stayScale(stats) {
  const top = Math.max(0, ...stats.buckets.map((b) => b.avg_stay_s || 0));
  return top >= 2 * 3600 ? { div: 3600, unit: "h" } : { div: 60, unit: "min" };
}

function busiestHours(hourly) {
  const days = new Set(hourly.buckets.map((b) => parseIso(b.start).date)).size || 1;
  const sums = Array.from({ length: 24 }, () => ({ entries: 0, exits: 0 }));
  for (const b of hourly.buckets) {
    const h = Number(parseIso(b.start).hm.slice(0, 2));
    sums[h].entries += b.entries;
    sums[h].exits += b.exits;
  }
  return { days, perHour: sums.map((s) => ({ entries: s.entries / days, exits: s.exits / days })) };
}

function tile(value, label) {
  return el("div", { class: "tile" }, el("span", { class: "tile-value", text: value }), el("span", { class: "tile-label", text: label }));
}

function draw() {
  if (!shown) return;
  const { range, stats, hourly } = shown;
  const cfg = RANGES[range];
  const labels = stats.buckets.map((b) => bucketLabel(b.start, stats.interval));
  $("#chart-flow-title").textContent = cfg.title;
  barChart($("#chart-flow"), {
    labels,
    integer: true,
    series: [
      { name: "Entries", cls: "bar-entries", values: stats.buckets.map((b) => b.entries) },
      { name: "Exits", cls: "bar-exits", values: stats.buckets.map((b) => b.exits) },
    ],
  });
  const scale = stayScale(stats);
  barChart($("#chart-stay"), {
    labels,
    series: [{ name: "Average stay", cls: "bar-stay", values: stats.buckets.map((b) => (b.avg_stay_s === null ? null : b.avg_stay_s / scale.div)) }],
    format: (v) => `${Math.round(v * 10) / 10} ${scale.unit}`,
  });
  const busy = busiestHours(hourly);
  $("#chart-busy-title").textContent = `Busiest hours (average per day over ${busy.days} day${busy.days === 1 ? "" : "s"})`;
  barChart($("#chart-busy"), {
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
  const peak = busy.perHour.reduce((best, h, i) => (h.entries + h.exits > best.n ? { i, n: h.entries + h.exits } : best), { i: -1, n: 0 });
  clear($("#charts-tiles")).append(
    tile(String(entries), "entries"),
    tile(String(exits), "exits"),
    tile(avgStay === null ? "—" : fmtDuration(avgStay), "average stay"),
    tile(peak.i < 0 ? "—" : `${String(peak.i).padStart(2, "0")}:00`, "busiest hour"),
  );
  $("#foot").textContent = `Times are the lot's local time (${stats.timezone}).`;
}

async function load() {
  const range = $("#charts-range").value;
  const cfg = RANGES[range];
  const since = new Date(Date.now() - cfg.days * DAY_MS).toISOString();
  try {
    const stats = await api.getJson("/stats", { interval: cfg.interval, since });
    const hourly = cfg.interval === "hour" ? stats : await api.getJson("/stats", { interval: "hour", since });
    shown = { range, stats, hourly };
    draw();
  } catch (e) {
    if (e.status !== 401) notify(e.message);
  }
}

function exportCsv() {
  if (!shown) return;
  const { stats } = shown;
  const rows = stats.buckets.map((b) => [b.start, b.entries, b.exits, b.avg_stay_s === null ? "" : Math.round(b.avg_stay_s)]);
  const csv = toCsv(["start", "entries", "exits", "avg_stay_s"], rows);
  saveBlob(new Blob([csv], { type: "text/csv" }), `stats-per-${stats.interval}.csv`);
}

export default {
  id: "charts",
  init() {
    $("#charts-range").addEventListener("change", load);
    $("#charts-export").addEventListener("click", exportCsv);
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => !$("#view-charts").hidden && draw(), 150);
    });
  },
  enter: load,
  leave() {},
  reset() {
    shown = null;
    for (const sel of ["#chart-flow", "#chart-stay", "#chart-busy", "#charts-tiles"]) clear($(sel));
  },
};

// Fees: the tariff in effect and its versions, a form for a new version, revenue and what is unpaid.
// Money travels as integer minor units (cents) with its ISO 4217 code; the page converts to and from
// the decimal text people read and type with string arithmetic, never a float.
import * as api from "./api.js";
import { $, clear, el, fmtTime, loading, notify, report, statusBadge } from "./dom.js";

/** Decimal places of a currency's minor unit (USD 2, JPY 0), as the browser knows them. */
function minorDigits(currency) {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
}

/** 1250, "USD" → "$12.50" (Intl formats the decimal string exactly). */
export function fmtMoney(amount, currency) {
  if (amount === null || amount === undefined || !currency) return "—";
  const digits = minorDigits(currency);
  const text = String(amount).padStart(digits + 1, "0");
  const decimal = digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text;
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(decimal);
}

/** "12.5", "USD" → 1250; "" → null; anything else throws with what to fix. */
export function parseMoney(text, currency, label) {
  const value = text.trim();
  if (value === "") return null;
  const digits = minorDigits(currency);
  const m = new RegExp(`^(\\d{1,9})(?:\\.(\\d{0,${digits}}))?$`).exec(value);
  if (!m) throw new Error(`${label}: write an amount like ${digits ? "2.50" : "250"} (at most ${digits} decimals).`);
  return Number(m[1]) * 10 ** digits + Number((m[2] || "").padEnd(digits, "0") || 0);
}

/** A visit's fee and payment as shown in lists: "$12.50" and a paid / waived / unpaid badge. */
export function feeEl(billing) {
  if (!billing || !billing.fee) return el("span", { class: "muted", text: "—" });
  const { amount, currency, final } = billing.fee;
  const status = billing.payment.status;
  return el(
    "span",
    { class: "fee" },
    el("span", { class: "money", text: `${fmtMoney(amount, currency)}${final ? "" : " so far"}` }),
    amount === 0 && status === "unpaid" ? null : [" ", statusBadge(status)], // nothing owed: no badge
  );
}

function rateText(rate, currency) {
  const m = (x) => fmtMoney(x, currency);
  const parts = [`${m(rate.period_price)} per ${rate.period_minutes} min started`];
  if (rate.first_period_price !== null) parts.push(`first period ${m(rate.first_period_price)}`);
  if (rate.grace_minutes) parts.push(`free for ${rate.grace_minutes} min`);
  if (rate.daily_cap !== null) parts.push(`at most ${m(rate.daily_cap)} a day`);
  if (rate.night) parts.push(`night ${rate.night.start.slice(0, 5)}–${rate.night.end.slice(0, 5)} ${m(rate.night.price)}`);
  if (rate.day_price !== null) parts.push(`day ${m(rate.day_price)}`);
  return parts.join(" · ");
}

function versionRow(t) {
  return el(
    "tr",
    {},
    el("td", { dataset: { label: "Version" }, class: "num", text: String(t.version) }),
    el("td", { dataset: { label: "From" }, text: fmtTime(t.effective_from) }),
    el("td", { dataset: { label: "Standard" }, text: rateText(t.standard, t.currency) }),
    el("td", { dataset: { label: "Members" }, text: t.member ? rateText(t.member, t.currency) : "standard" }),
    el("td", { dataset: { label: "Staff" }, text: t.staff_free ? "free" : "pay" }),
    el("td", { dataset: { label: "Set by" }, text: `${t.created_by}, ${fmtTime(t.created_at)}` }),
  );
}

function tile(value, label) {
  return el("div", { class: "tile" }, el("span", { class: "tile-value", text: value }), el("span", { class: "tile-label", text: label }));
}

function revenueRow(b, c) {
  const money = (label, amount) => el("td", { class: "num", dataset: { label }, text: fmtMoney(amount, c) });
  return el(
    "tr",
    {},
    el("td", { dataset: { label: "Day" }, text: fmtTime(b.start).slice(0, 10) }),
    money("Charged", b.charged),
    money("Paid", b.paid),
    money("Waived", b.waived),
    money("Unpaid", b.unpaid),
  );
}

let currency = "USD";

async function load() {
  try {
    const [versions, week] = await loading("fees", () =>
      Promise.all([api.getJson("/tariffs"), api.getJson("/revenue", { interval: "day" })]),
    );
    const now = Date.now();
    const current = versions.find((t) => Date.parse(t.effective_from) <= now);
    if (versions.length) currency = versions[0].currency;
    $("#fees-current").textContent = current
      ? `Version ${current.version}: ${rateText(current.standard, current.currency)}.`
      : "No tariff yet: visits have no fee until one is set.";
    clear($("#fees-versions tbody")).append(...versions.map(versionRow));
    const c = week.currency || currency;
    clear($("#fees-tiles")).append(
      tile(fmtMoney(week.charged, c), "charged, last 7 days"),
      tile(fmtMoney(week.paid, c), "paid"),
      tile(fmtMoney(week.waived, c), "waived"),
      tile(fmtMoney(week.unpaid, c), "unpaid"),
    );
    clear($("#fees-revenue tbody")).append(...[...week.buckets].reverse().map((b) => revenueRow(b, c)));
    fillForm(current);
  } catch (e) {
    report(e);
  }
}

/** The form starts from the tariff in effect, so a change is an edit of what is there. */
function fillForm(t) {
  const form = $("#fees-form");
  form.reset();
  form.currency.value = t ? t.currency : currency;
  if (!t) return;
  const r = t.standard;
  const m = (x) => (x === null || x === undefined ? "" : fmtMoney(x, t.currency).replace(/[^0-9.]/g, ""));
  form.grace_minutes.value = r.grace_minutes;
  form.period_minutes.value = r.period_minutes;
  form.period_price.value = m(r.period_price);
  form.first_period_price.value = m(r.first_period_price);
  form.daily_cap.value = m(r.daily_cap);
  form.day_price.value = m(r.day_price);
  if (r.night) {
    form.night_start.value = r.night.start.slice(0, 5);
    form.night_end.value = r.night.end.slice(0, 5);
    form.night_price.value = m(r.night.price);
  }
  form.member_period_price.value = t.member ? m(t.member.period_price) : "";
  form.staff_free.checked = t.staff_free;
}

function readForm(form) {
  const cur = form.currency.value.trim().toUpperCase();
  const money = (name, label) => parseMoney(form[name].value, cur, label);
  const standard = {
    grace_minutes: Number(form.grace_minutes.value || 0),
    period_minutes: Number(form.period_minutes.value || 60),
    period_price: money("period_price", "Price per period") ?? 0,
    first_period_price: money("first_period_price", "First period"),
    daily_cap: money("daily_cap", "Daily cap"),
    day_price: money("day_price", "Flat day price"),
    night: null,
  };
  const nightPrice = money("night_price", "Night price");
  if (nightPrice !== null) {
    if (!form.night_start.value || !form.night_end.value) throw new Error("Night rate: give its start and end times.");
    standard.night = { start: form.night_start.value, end: form.night_end.value, price: nightPrice };
  }
  const memberPrice = money("member_period_price", "Members' price per period");
  const body = {
    currency: cur,
    standard,
    member: memberPrice === null ? null : { ...standard, period_price: memberPrice },
    staff_free: form.staff_free.checked,
  };
  if (form.effective_from.value) body.effective_from = `${form.effective_from.value}:00`;
  return body;
}

async function onSubmit(event) {
  event.preventDefault();
  const note = $("#fees-error");
  note.textContent = "";
  let body;
  try {
    body = readForm(event.target);
  } catch (e) {
    note.textContent = e.message;
    return;
  }
  try {
    const made = await loading("fees", () => api.send("/tariffs", { method: "POST", body }).then((r) => r.json()));
    notify(`Tariff version ${made.version} takes effect ${fmtTime(made.effective_from)}.`, "info");
    await load();
  } catch (e) {
    if (e.status === 422 || e.status === 409) note.textContent = e.message;
    else report(e);
  }
}

export default {
  id: "fees",
  init() {
    $("#fees-form").addEventListener("submit", onSubmit);
  },
  enter: load,
  refresh: load,
  leave() {},
  reset() {
    for (const sel of ["#fees-versions tbody", "#fees-revenue tbody", "#fees-tiles", "#fees-current", "#fees-error"]) clear($(sel));
    $("#fees-form").reset();
  },
};

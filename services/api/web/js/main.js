// Start-up, sign-in / sign-out, and the views (one section each, chosen by the URL's #fragment).
// Signing out, or any sign that the session ended, clears every view: no data stays in the page.
import alerts from "./alerts.js";
import * as api from "./api.js";
import audit from "./audit.js";
import { closeDialog, initDialog, links } from "./cards.js";
import charts from "./charts.js";
import { $, clearNotice, lot, notify, offsetOf, report } from "./dom.js";
import inside from "./inside.js";
import live from "./live.js";
import search from "./search.js";
import fees from "./fees.js";
import ticket from "./ticket.js";
import vehicle from "./vehicle.js";
import visits from "./visits.js";

const VIEWS = { live, search, visits, inside, vehicle, charts, alerts, fees, ticket, audit };
const DEFAULT_VIEW = "live";
let active = null;

function showSection(id) {
  for (const section of document.querySelectorAll("main > .view")) section.hidden = section.id !== `view-${id}`;
}

// -- the service out of reach: one message that stays, the data on screen kept, a retry ---------------
let offlineSince = null;

function reachability(ok) {
  if (ok) {
    offlineSince = null;
    $("#offline").hidden = true;
    return;
  }
  if (!offlineSince) offlineSince = new Date().toTimeString().slice(0, 8);
  $("#offline-text").textContent =
    `Cannot reach the records service (since ${offlineSince}, this device's time). ` +
    "What is on screen was loaded before and is kept; new data shows once it answers again.";
  $("#offline").hidden = false;
}

function retry() {
  if (!api.session.get()) return;
  if (!active) return signedIn().catch(() => {});
  (active.refresh || active.enter).call(active);
}

/** The lot's time zone, named in the footer of every page. */
async function learnTimezone() {
  const occ = await api.getJson("/occupancy");
  lot.timezone = occ.timezone || "";
  lot.offset = offsetOf(occ.at);
  $("#foot").textContent = `Times are the lot's local time: ${lot.timezone} (UTC${lot.offset}).`;
  for (const tz of document.querySelectorAll("[data-lot-tz]")) tz.textContent = lot.timezone;
}

function showSignin(message = "", kind = "error") {
  for (const view of Object.values(VIEWS)) view.reset();
  closeDialog();
  active = null;
  $("#topbar").hidden = true;
  $("#who").textContent = "";
  $("#foot").textContent = "";
  showSection("signin");
  const note = $("#signin-error");
  note.textContent = message;
  note.className = kind;
  document.title = "Sign in · Lot records";
  $("#signin-form [name=token]").focus();
}

function route() {
  if (!api.session.get()) return showSignin();
  const name = location.hash.slice(1) in VIEWS ? location.hash.slice(1) : DEFAULT_VIEW;
  const view = VIEWS[name];
  if (active && active !== view) active.leave();
  closeDialog();
  $("#topbar").hidden = false;
  showSection(name);
  for (const tab of document.querySelectorAll("#tabs a")) {
    tab.classList.toggle("active", tab.dataset.view === name);
    if (tab.dataset.view === name) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  document.title = `${$(`#view-${name} h1`).firstChild.textContent.trim()} · Lot records`;
  active = view;
  view.enter();
}

async function signedIn() {
  const info = await api.getJson("/auth/session");
  $("#who").textContent = info.client;
  clearNotice();
  await learnTimezone().catch(report); // the views work without it; the foot then stays empty
  route();
}

async function onSignin(event) {
  event.preventDefault();
  const form = event.target;
  const button = form.querySelector("button");
  const note = $("#signin-error");
  button.disabled = true;
  note.textContent = "";
  try {
    await api.login(form.token.value, form.code.value);
    form.reset(); // the token does not stay in the page
    await signedIn();
  } catch (e) {
    note.className = "error";
    note.textContent = e.message;
    form.code.value = "";
    form.code.focus();
  } finally {
    button.disabled = false;
  }
}

async function onSignout() {
  if (active) active.leave();
  try {
    await api.logout();
  } catch (e) {
    if (e.status !== 401) notify(`Sign-out did not reach the server: ${e.message}`);
  }
  showSignin("You are signed out.", "info");
}

function start() {
  for (const view of Object.values(VIEWS)) view.init?.();
  initDialog();
  links.openVehicle = (plate) => {
    closeDialog();
    vehicle.open(plate);
  };
  links.openTicket = (key) => {
    closeDialog();
    ticket.open(key);
  };
  api.onSessionEnded((reason) => showSignin(reason));
  api.onReachability(reachability);
  $("#offline-retry").addEventListener("click", retry);
  $("#skip").addEventListener("click", (e) => {
    e.preventDefault(); // the #fragment chooses the view: move focus instead
    $("main").focus();
  });
  $("#signin-form").addEventListener("submit", onSignin);
  $("#signout").addEventListener("click", onSignout);
  window.addEventListener("hashchange", () => api.session.get() && route());
  // A correction changed the records: the view behind the dialog reloads.
  document.addEventListener("anpr:records-changed", () => active && (active.refresh || active.enter).call(active));
  if (api.session.load()) {
    signedIn().catch((e) => {
      if (e.status !== 401 && !e.offline) showSignin(e.message);
    });
  } else {
    showSignin();
  }
}

start();

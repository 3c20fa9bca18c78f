// Live view: the latest events, then each new one as the service stores it (feed.js). The stream is
// opened before the list is loaded, so nothing falls in between; cards are keyed by event_id, so
// nothing shows twice. New events are announced to screen readers (a polite live region).
import * as api from "./api.js";
import { eventCard, releaseWithin } from "./cards.js";
import { $, clear, fmtPlate, fmtTime, loading, report } from "./dom.js";
import * as feed from "./feed.js";

const KEEP = 60;
const RECENT = 24;
let unwatch = null;

const list = () => $("#live-list");

function setStatus(text, state) {
  const status = $("#live-status");
  status.textContent = text;
  status.className = `status ${state}`;
}

function add(event, fresh) {
  const ul = list();
  if (ul.querySelector(`[data-event-id="${CSS.escape(event.event_id)}"]`)) return;
  const card = eventCard(event, { fresh });
  card.dataset.time = String(Date.parse(event.time));
  const later = [...ul.children].find((c) => Number(c.dataset.time) < Number(card.dataset.time));
  ul.insertBefore(card, later || null);
  while (ul.children.length > KEEP) {
    releaseWithin(ul.lastElementChild);
    ul.lastElementChild.remove();
  }
  $("#live-empty").hidden = ul.children.length > 0;
  if (fresh) {
    const what = event.type === "entry" ? "Entry" : "Exit";
    $("#live-announce").textContent = `${what}: ${fmtPlate(event.plate)} at ${fmtTime(event.time).slice(11)}, ${event.camera}`;
  }
}

async function loadRecent(signal) {
  const page = await loading("live", () => api.getJson("/events", { limit: RECENT }, signal));
  for (const event of page.items) add(event, false);
  $("#live-empty").hidden = list().children.length > 0;
}

async function refreshInside(signal) {
  const occ = await api.getJson("/occupancy", {}, signal);
  $("#live-inside").textContent = `${occ.count} inside`;
}

const watcher = {
  onState: setStatus,
  onOpen(signal) {
    loadRecent(signal).catch(report);
    refreshInside(signal).catch(report);
  },
  onEvent(type, data, signal) {
    if (type === "stored") {
      add(JSON.parse(data), true);
      refreshInside(signal).catch(report);
    } else if (type === "resync") {
      loadRecent(signal).catch(report);
    }
  },
};

export default {
  id: "live",
  enter() {
    if (!unwatch) unwatch = feed.watch(watcher);
  },
  leave() {
    if (unwatch) unwatch();
    unwatch = null;
  },
  refresh() {
    this.leave(); // reconnect now rather than after the back-off
    this.enter();
  },
  reset() {
    this.leave();
    releaseWithin(list());
    clear(list());
    $("#live-inside").textContent = "– inside";
    $("#live-announce").textContent = "";
    setStatus("connecting…", "");
  },
};

// Live view: the latest events, then each new one as the service stores it (server-sent events read
// with fetch, see api.stream). The stream is opened before the list is loaded, so nothing falls in
// between; cards are keyed by event_id, so nothing shows twice.
import * as api from "./api.js";
import { eventCard, releaseWithin } from "./cards.js";
import { $, clear, notify, offsetOf } from "./dom.js";

const KEEP = 60;
const RECENT = 24;
let controller = null;

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
}

async function loadRecent(signal) {
  const page = await api.getJson("/events", { limit: RECENT }, signal);
  for (const event of page.items) add(event, false);
  $("#live-empty").hidden = list().children.length > 0;
}

async function refreshInside(signal) {
  const occ = await api.getJson("/occupancy", {}, signal);
  $("#live-inside").textContent = `${occ.count} inside`;
  $("#foot").textContent = `Times are the lot's local time (UTC${offsetOf(occ.at)}).`;
}

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

async function run(signal) {
  let delay = 1000;
  while (!signal.aborted) {
    setStatus("connecting…", "");
    try {
      await api.stream("/events/stream", {
        signal,
        onOpen: () => {
          setStatus("live", "on");
          delay = 1000;
          loadRecent(signal).catch(report);
          refreshInside(signal).catch(report);
        },
        onEvent: (type, data) => {
          if (type === "stored") {
            add(JSON.parse(data), true);
            refreshInside(signal).catch(report);
          } else if (type === "resync") {
            loadRecent(signal).catch(report);
          }
        },
      });
    } catch (e) {
      if (signal.aborted || e.status === 401) return;
      if (e.status && e.status !== 503) notify(e.message);
    }
    if (signal.aborted) return;
    setStatus("reconnecting…", "off");
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 30_000);
  }
}

function report(e) {
  if (e.name !== "AbortError" && e.status !== 401) notify(e.message);
}

export default {
  id: "live",
  enter() {
    if (controller) return;
    controller = new AbortController();
    run(controller.signal);
  },
  leave() {
    if (controller) controller.abort();
    controller = null;
  },
  reset() {
    this.leave();
    releaseWithin(list());
    clear(list());
    $("#live-inside").textContent = "– inside";
    $("#foot").textContent = "";
    setStatus("connecting…", "");
  },
};

// Alerts view: alerts as they are raised (the shared live stream, `event: alert`), the owner's plate
// lists (add, remove) and webhooks (add, remove; the signing secret is shown once, right after adding).
import * as api from "./api.js";
import { $, cell, clear, el, fmtPlate, fmtTime, localInput, loading, plateEl, report, timeEl } from "./dom.js";
import * as feed from "./feed.js";

const KEEP = 100;
const KIND_LABEL = {
  listed: "Listed plate",
  overstay: "Overstay",
  unknown_members_only: "Not a member",
  left_unpaid: "Left unpaid",
};
let unwatch = null;

function setStatus(text, state) {
  const status = $("#alerts-status");
  status.textContent = text;
  status.className = `status ${state}`;
}

function addAlert(alert, fresh) {
  const list = $("#alerts-list");
  if (list.querySelector(`[data-alert-id="${CSS.escape(alert.alert_id)}"]`)) return;
  const kind = alert.list_kind ? `${KIND_LABEL[alert.kind]}: ${alert.list_kind}` : KIND_LABEL[alert.kind] || alert.kind;
  const item = el(
    "li",
    { class: `card alert-card ${alert.list_kind || alert.kind}${fresh ? " new" : ""}`, dataset: { alertId: alert.alert_id } },
    el("div", { class: "line" }, plateEl(alert.plate), el("span", { class: `badge alert ${alert.list_kind || alert.kind}`, text: kind })),
    el("p", { class: "muted" }, timeEl(alert.at), alert.camera ? ` · ${alert.camera}` : "", alert.detail ? ` · ${alert.detail}` : ""),
  );
  const later = [...list.children].find((c) => c.dataset.at < alert.at);
  item.dataset.at = alert.at;
  list.insertBefore(item, later || null);
  while (list.children.length > KEEP) list.lastElementChild.remove();
  $("#alerts-empty").hidden = list.children.length > 0;
  if (fresh) $("#alerts-announce").textContent = `Alert: ${kind}, ${fmtPlate(alert.plate)} at ${fmtTime(alert.at).slice(11)}`;
}

async function loadAlerts(signal) {
  const page = await loading("alerts", () => api.getJson("/alerts", { limit: 50 }, signal));
  for (const alert of page.items) addAlert(alert, false);
  $("#alerts-empty").hidden = $("#alerts-list").children.length > 0;
}

const watcher = {
  onState: setStatus,
  onOpen(signal) {
    loadAlerts(signal).catch(report);
  },
  onEvent(type, data) {
    if (type === "alert") addAlert(JSON.parse(data), true);
  },
};

// -- plate lists --------------------------------------------------------------------------------------
const removeButton = (label, onclick) => el("button", { type: "button", class: "secondary small", text: "Remove", "aria-label": label, onclick });

async function loadLists() {
  const page = await api.getJson("/lists", { limit: 500 });
  const body = clear($("#lists-table tbody"));
  for (const entry of page.items) {
    const remove = () => api.send(`/lists/${entry.id}`, { method: "DELETE" }).then(loadLists).catch(report);
    body.append(
      el(
        "tr",
        { class: entry.active ? "" : "expired" },
        cell("List", entry.kind),
        cell("Plate", plateEl(entry.plate)),
        cell("Note", entry.note),
        cell("Expires", entry.expires_at ? timeEl(entry.expires_at) : "never", entry.active ? "" : " (expired)"),
        cell("Added by", entry.created_by),
        cell("", removeButton(`Remove ${fmtPlate(entry.plate)} from the ${entry.kind} list`, remove)),
      ),
    );
  }
  $("#lists-empty").hidden = page.items.length > 0;
  $("#lists-table").hidden = !page.items.length;
}

async function onAddEntry(event) {
  event.preventDefault();
  const form = event.target;
  const body = { kind: form.kind.value, plate: form.plate.value, note: form.note.value };
  if (form.expires_at.value) body.expires_at = localInput(form.expires_at.value);
  $("#lists-error").textContent = "";
  try {
    await api.send("/lists", { method: "POST", body });
    form.plate.value = "";
    form.note.value = "";
    form.expires_at.value = "";
    await loadLists();
  } catch (e) {
    if (e.status !== 401) $("#lists-error").textContent = e.message;
  }
}

// -- webhooks -----------------------------------------------------------------------------------------
async function loadWebhooks() {
  const hooks = await api.getJson("/webhooks");
  const body = clear($("#webhooks-table tbody"));
  for (const hook of hooks) {
    const remove = () => api.send(`/webhooks/${hook.id}`, { method: "DELETE" }).then(loadWebhooks).catch(report);
    body.append(
      el(
        "tr",
        {},
        cell("URL", el("code", { text: hook.url })),
        cell("Delivered", String(hook.delivered)),
        cell("Retrying", String(hook.pending)),
        cell("Failed", String(hook.failed)),
        cell("Added by", hook.created_by),
        cell("", removeButton(`Remove webhook ${hook.url}`, remove)),
      ),
    );
  }
  $("#webhooks-empty").hidden = hooks.length > 0;
  $("#webhooks-table").hidden = !hooks.length;
}

async function onAddWebhook(event) {
  event.preventDefault();
  const form = event.target;
  $("#webhooks-error").textContent = "";
  try {
    const made = await (await api.send("/webhooks", { method: "POST", body: { url: form.url.value } })).json();
    form.reset();
    const note = $("#webhooks-secret");
    clear(note).append("Signing secret for this webhook (shown only now; store it with the receiver): ", el("code", { text: made.secret }));
    note.hidden = false;
    await loadWebhooks();
  } catch (e) {
    if (e.status !== 401) $("#webhooks-error").textContent = e.message;
  }
}

export default {
  id: "alerts",
  init() {
    $("#lists-form").addEventListener("submit", onAddEntry);
    $("#webhooks-form").addEventListener("submit", onAddWebhook);
  },
  enter() {
    if (!unwatch) unwatch = feed.watch(watcher);
    loadLists().catch(report);
    loadWebhooks().catch(report);
  },
  leave() {
    if (unwatch) unwatch();
    unwatch = null;
    clear($("#webhooks-secret")).hidden = true; // the secret never stays on screen
  },
  refresh() {
    this.leave();
    this.enter();
  },
  reset() {
    this.leave();
    for (const id of ["#alerts-list", "#lists-table tbody", "#webhooks-table tbody"]) clear($(id));
    $("#alerts-announce").textContent = "";
    setStatus("connecting…", "");
  },
};

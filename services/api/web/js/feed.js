// The one live stream of stored events and alerts (server-sent events read with fetch, see api.stream), shared
// by the views that show what happens now (Live, Inside, Alerts). It is open while one of them watches and
// reconnects with a growing delay; each watcher hears when it opens, each event, and its state.
import * as api from "./api.js";
import { report } from "./dom.js";

const watchers = new Set();
let controller = null;
let state = ["connecting…", ""];

const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

function tell(what, ...args) {
  for (const w of [...watchers]) w[what]?.(...args);
}

function setState(text, cls) {
  state = [text, cls];
  tell("onState", text, cls);
}

async function run(signal) {
  let delay = 1000;
  while (!signal.aborted) {
    setState("connecting…", "");
    try {
      await api.stream("/events/stream", {
        signal,
        onOpen: () => {
          delay = 1000;
          setState("live", "on");
          tell("onOpen", signal);
        },
        onEvent: (type, data) => tell("onEvent", type, data, signal),
      });
    } catch (e) {
      if (signal.aborted || e.status === 401) return;
      if (e.status === 429) setState("too many live views open in this session", "off");
      else if (e.status !== 503) report(e);
    }
    if (signal.aborted) return;
    setState("reconnecting…", "off");
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 30_000);
  }
}

/** Watch the stream: {onOpen(signal), onEvent(type, data, signal), onState(text, cls)}; returns unwatch. */
export function watch(watcher) {
  watchers.add(watcher);
  if (!controller) {
    controller = new AbortController();
    run(controller.signal);
  } else {
    watcher.onState?.(...state);
    if (state[1] === "on") watcher.onOpen?.(controller.signal); // already open: load, then what comes
  }
  return () => {
    watchers.delete(watcher);
    if (!watchers.size && controller) {
      controller.abort();
      controller = null;
      state = ["connecting…", ""];
    }
  };
}

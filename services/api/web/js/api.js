// The one way the app talks to the records service: the same authenticated API as every client.
// The session token lives in sessionStorage (this tab only) and goes in the Authorization header,
// never in a URL. Any 401 ends the session in the page and sends the user back to sign-in.

const KEY = "anpr.session";
const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** The service could not be reached at all (stopped, network down): not an answer from it. */
export class Unreachable extends ApiError {
  constructor() {
    super(0, "Cannot reach the records service.");
    this.offline = true;
  }
}

let current = null;
let expiryTimer = null;
let onEnded = () => {};
let onReach = () => {};

/** Called with false when a request finds no service, and true when one gets an answer again. */
export function onReachability(handler) {
  onReach = handler;
}

/** fetch, with "no answer at all" told apart from an error answer. */
async function reach(input, init) {
  let resp;
  try {
    resp = await fetch(input, init);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    onReach(false);
    throw new Unreachable();
  }
  onReach(true);
  return resp;
}

export const session = {
  get: () => current,
  load() {
    try {
      current = JSON.parse(sessionStorage.getItem(KEY) || "null");
    } catch {
      current = null;
    }
    if (current) armExpiry();
    return current;
  },
  save(value) {
    current = value;
    sessionStorage.setItem(KEY, JSON.stringify(value));
    armExpiry();
  },
  clear() {
    current = null;
    clearTimeout(expiryTimer);
    sessionStorage.removeItem(KEY);
  },
};

/** Called once when the session ends without the user signing out (expired, revoked). */
export function onSessionEnded(handler) {
  onEnded = handler;
}

function ended(reason) {
  if (!current) return;
  session.clear();
  onEnded(reason);
}

function armExpiry() {
  clearTimeout(expiryTimer);
  const ms = Date.parse(current.expires_at) - Date.now();
  if (ms > 0 && ms < 2 ** 31) expiryTimer = setTimeout(() => ended("Your session has expired."), ms);
}

export function url(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) query.set(k, String(v));
  }
  const qs = query.toString();
  return `${BASE}${path}${qs ? `?${qs}` : ""}`;
}

async function detailOf(resp) {
  try {
    const body = await resp.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
  } catch {
    /* not JSON */
  }
  return `${resp.status} ${resp.statusText}`;
}

/** fetch with the session; returns the Response (ok) or throws ApiError. */
export async function send(path, { method = "GET", params, body, signal, accept = "application/json" } = {}) {
  if (!current) throw new ApiError(401, "not signed in");
  const headers = { Accept: accept, Authorization: `Bearer ${current.session_token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await reach(url(path, params), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
    credentials: "omit",
    referrerPolicy: "no-referrer",
  });
  if (resp.status === 401) {
    ended("Your session has ended. Please sign in again.");
    throw new ApiError(401, "session ended");
  }
  if (!resp.ok) throw new ApiError(resp.status, await detailOf(resp));
  return resp;
}

export async function getJson(path, params, signal) {
  return (await send(path, { params, signal })).json();
}

export async function login(token, code) {
  const resp = await reach(url("/auth/login"), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ token: token.trim(), code: code.trim() }),
    cache: "no-store",
    credentials: "omit",
  });
  if (resp.status === 429) {
    const wait = Number(resp.headers.get("Retry-After") || 0);
    throw new ApiError(429, `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60)} min.`);
  }
  if (resp.status === 401) throw new ApiError(401, "Token or code not accepted.");
  if (resp.status === 422) throw new ApiError(422, "The code is the 6 digits your authenticator app shows.");
  if (!resp.ok) throw new ApiError(resp.status, await detailOf(resp));
  session.save(await resp.json());
  return current;
}

export async function logout() {
  if (!current) return;
  try {
    await send("/auth/logout", { method: "POST" });
  } finally {
    session.clear();
  }
}

/** A snapshot as a blob: URL (an <img src> cannot carry the header). Revoke it when done. */
export async function snapshotUrl(eventId, signal) {
  const resp = await send(`/events/${encodeURIComponent(eventId)}/snapshot`, { signal, accept: "image/jpeg" });
  return URL.createObjectURL(await resp.blob());
}

export async function downloadCsv(path, params) {
  const resp = await send(path, { params, accept: "text/csv" });
  const match = /filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "");
  return { blob: await resp.blob(), filename: match ? match[1] : "export.csv" };
}

/**
 * Server-sent events read with fetch (EventSource cannot send the Authorization header).
 * Calls onOpen() once the stream answers, then onEvent(type, data) per event; resolves when the
 * server ends the stream, rejects on a network error or abort.
 */
export async function stream(path, { signal, onOpen, onEvent }) {
  const resp = await send(path, { signal, accept: "text/event-stream" });
  onOpen();
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (e) {
      if (e.name === "AbortError" || signal?.aborted) throw e;
      onReach(false); // the connection broke mid-stream
      throw new Unreachable();
    }
    const { value, done } = chunk;
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      let type = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) type = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) onEvent(type, data.join("\n"));
    }
  }
}

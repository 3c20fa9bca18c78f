"""The app's routes over real HTTP: public assets that hold no data and carry security headers, and
the live stream, which needs a session, delivers stored events once each and ends with its session."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from anpr.messages import EventType
from services.api.deps import PUBLIC_ROUTES, WEB_ASSETS
from services.api.live import MAX_PER_SESSION, QUEUE_SIZE, FeedClosed, LiveFeed
from services.api.routes import live as live_route
from services.api.routes.web import WEB_DIR
from tests.api.conftest import RealPlate
from tests.web.conftest import LiveServer, make_event

STATIC_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


def test_every_file_of_the_app_is_named_in_the_allow_list_and_nothing_else() -> None:
    files = {p.relative_to(WEB_DIR).as_posix() for p in WEB_DIR.rglob("*") if p.is_file()}
    served = {("index.html" if path == "/app/" else path.removeprefix("/app/")) for path in WEB_ASSETS}
    assert served == files
    assert {("GET", p) for p in WEB_ASSETS} <= PUBLIC_ROUTES


def test_the_app_has_no_inline_script_and_never_writes_html() -> None:
    shell = (WEB_DIR / "index.html").read_text()
    for tag in re.findall(r"<script\b[^>]*>", shell):
        assert "src=" in tag, f"inline script: {tag}"
    assert not re.search(r"\son[a-z]+\s*=", shell), "inline event handler"
    assert not re.search(r"\sstyle\s*=", shell), "inline style"
    assert "http://" not in shell and "https://" not in shell, "nothing from another origin"
    for js in (WEB_DIR / "js").glob("*.js"):
        code = js.read_text()
        for sink in (
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
            "new Function",
        ):
            assert sink not in code, f"{js.name} uses {sink}"
        assert not re.search(r"""(from|import)\s*["']https?:""", code), (
            f"{js.name} imports from another origin"
        )


def test_assets_are_public_hold_no_data_and_carry_security_headers(seeded: LiveServer) -> None:
    plates = {e.plate for e in seeded.seeded}
    root = httpx.get(f"{seeded.base_url}/", follow_redirects=False)
    assert root.status_code == 302 and root.headers["location"] == "/app/"
    for path in sorted(WEB_ASSETS):
        resp = httpx.get(f"{seeded.base_url}{path}")  # no session
        assert resp.status_code == 200, path
        suffix = "." + (path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else "html")
        assert resp.headers["content-type"].startswith(STATIC_TYPES[suffix]), path
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "no-referrer"
        assert resp.headers["x-frame-options"] == "DENY"
        assert not any(p in resp.text for p in plates), f"{path} holds data"
    assert httpx.get(f"{seeded.base_url}/app/js/nothing.js").status_code == 404


def test_the_stream_needs_a_session(server: LiveServer) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-session"}):
        resp = httpx.get(f"{server.base_url}/api/v1/events/stream", headers=headers)
        assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"


def _frames(lines: Any) -> Any:
    """Server-sent event blocks as (event, data) pairs; comments as ('comment', text)."""
    event, data = None, []
    for line in lines:
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
        elif line == "" and event:
            yield event, "\n".join(data)
            event, data = None, []


def test_the_stream_delivers_each_stored_event_once_and_ends_with_its_session(
    server: LiveServer, real_plates: list[RealPlate], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_route, "HEARTBEAT_S", 0.3)  # the session is checked at each heartbeat
    token = server.login(server.new_client())
    now = datetime.now(timezone.utc).replace(microsecond=0)
    first = make_event(real_plates[0].plate, EventType.ENTRY, now, snapshot=real_plates[0].jpeg)
    second = make_event(real_plates[1].plate, EventType.EXIT, now + timedelta(seconds=5))
    got: list[tuple[str, str]] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.stream("GET", f"{server.base_url}/api/v1/events/stream", headers=headers, timeout=20) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        frames = _frames(resp.iter_lines())
        assert next(frames) == ("comment", "connected")
        server.ingest(first)  # HTTP ingest
        redelivered = httpx.post(
            f"{server.base_url}/api/v1/ingest",
            content=first.model_dump_json(),
            headers={
                "X-Device-Token": "device-token-for-tests-0123456789",
                "Content-Type": "application/json",
            },
        )
        assert redelivered.status_code == 200 and redelivered.json()["stored"] is False
        server.publish(second)  # through Mosquitto
        for kind, data in frames:
            if kind == "stored":
                got.append((kind, data))
            if len(got) == 2:
                break
        logout = httpx.post(f"{server.base_url}/api/v1/auth/logout", headers=headers)
        assert logout.status_code == 204
        rest = list(frames)  # ends: the next heartbeat finds the session revoked
    events = [json.loads(d) for _, d in got]
    assert [e["event_id"] for e in events] == [str(first.event_id), str(second.event_id)]
    assert events[0]["plate"] == first.plate and events[0]["has_snapshot"] is True
    assert events[0]["time"].endswith(("-06:00", "-05:00"))  # the lot's time zone
    assert events[1]["type"] == "exit" and events[1]["has_snapshot"] is False
    assert all(kind == "comment" for kind, _ in rest), rest
    assert server.runtime.live.subscribers == 0


def test_a_subscriber_that_falls_behind_is_dropped_and_marked_lagged() -> None:
    feed = LiveFeed()  # put_nowait/get_nowait need no running loop
    slow, fast = feed.subscribe(), feed.subscribe()
    for i in range(QUEUE_SIZE + 1):
        feed.publish(f"event {i}")  # type: ignore[arg-type] - the feed does not look inside
        fast.queue.get_nowait()
    assert slow.lagged and slow.queue.qsize() == QUEUE_SIZE
    assert not fast.lagged and feed.subscribers == 1
    feed.unsubscribe(fast)
    assert feed.subscribers == 0


def test_one_session_cannot_take_every_live_stream_slot(server: LiveServer) -> None:
    """Issue #10: a session may hold a few streams (tabs); the rest stay free for other screens."""
    first = server.login(server.new_client())
    other = server.login(server.new_client())
    url = f"{server.base_url}/api/v1/events/stream"
    with contextlib.ExitStack() as stack:
        for _ in range(MAX_PER_SESSION):
            resp = stack.enter_context(httpx.stream("GET", url, headers={"Authorization": f"Bearer {first}"}))
            assert resp.status_code == 200
        refused = httpx.get(url, headers={"Authorization": f"Bearer {first}"})
        assert refused.status_code == 429 and "per session" in refused.json()["detail"]
        resp = stack.enter_context(httpx.stream("GET", url, headers={"Authorization": f"Bearer {other}"}))
        assert resp.status_code == 200
        assert server.runtime.live.subscribers == MAX_PER_SESSION + 1


def test_closing_the_feed_ends_every_stream_and_refuses_new_ones() -> None:
    feed = LiveFeed()
    sub = feed.subscribe(session=1)
    for i in range(QUEUE_SIZE):
        feed.publish(f"event {i}")  # type: ignore[arg-type] - a full queue must not block the close
    feed.close()
    drained = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    assert drained[-1] is None  # the stream's end marker
    with pytest.raises(FeedClosed):
        feed.subscribe(session=2)

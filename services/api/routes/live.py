"""Live events as server-sent events (text/event-stream), for the web app's live view.

Authenticated like every route (Authorization: Bearer): the app reads it with fetch() and a stream
reader, because EventSource cannot send headers and the session must not go into a URL. The session
is checked again at every heartbeat, so a stream ends soon after its session is revoked or expires.
An open live view counts as use of the session (it keeps it from idling out, not past its maximum age).

    event: stored   data: an event as in GET /api/v1/events (id: its event_id)
    event: alert    data: an alert as in GET /api/v1/alerts (id: its alert_id)
    event: resync   the client fell behind; reload the list, then reconnect
    : ping          heartbeat comment

The stream ends when the service stops (so shutdown never waits on it); the app reconnects.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import StreamingResponse

from services.api.auth import Unauthorized
from services.api.deps import API_PREFIX, CurrentClient, RuntimeDep
from services.api.errors import ERROR, RETRY_AFTER
from services.api.live import FeedClosed, Subscription, TooManyForSession, TooManySubscribers
from services.api.runtime import Runtime
from services.api.schemas import AlertPublic

router = APIRouter(prefix=API_PREFIX, tags=["records"])
HEARTBEAT_S = 15.0
RETRY_MS = 5000


def _frame(event: str, data: str, event_id: str | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {data}\n\n".encode()


async def _frames(request: Request, runtime: Runtime, sub: Subscription, token: str) -> AsyncIterator[bytes]:
    yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
    while True:
        if sub.lagged and sub.queue.empty():
            yield _frame("resync", "{}")
            return
        try:
            event = await asyncio.wait_for(sub.queue.get(), timeout=HEARTBEAT_S)
        except asyncio.TimeoutError:
            if await request.is_disconnected():
                return
            try:
                await runtime.auth.authenticate(token)
            except Unauthorized:
                return
            yield b": ping\n\n"
            continue
        if event is None:  # the service is stopping
            return
        if isinstance(event, AlertPublic):
            yield _frame("alert", event.model_dump_json(), str(event.alert_id))
        else:
            yield _frame("stored", event.model_dump_json(), str(event.event_id))


@router.get(
    "/events/stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        429: ERROR | {"headers": {"Retry-After": RETRY_AFTER}},
        503: ERROR,
    },
)
async def event_stream(request: Request, runtime: RuntimeDep, client: CurrentClient) -> StreamingResponse:
    """Events as they are stored (MQTT or HTTP ingest) and alerts as they are raised, from now on; load
    the lists first with /events and /alerts."""
    token = request.headers["authorization"].partition(" ")[2].strip()  # the guard has checked it
    try:
        sub = runtime.live.subscribe(session=client.session_id)
    except TooManyForSession as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, str(exc), headers={"Retry-After": "30"}
        ) from None
    except (TooManySubscribers, FeedClosed) as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "30"}
        ) from None

    async def body() -> AsyncIterator[bytes]:
        try:
            async for chunk in _frames(request, runtime, sub, token):
                yield chunk
        finally:
            runtime.live.unsubscribe(sub)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

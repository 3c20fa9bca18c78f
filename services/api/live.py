"""Stored events and alerts fanned out to live subscribers (the web app's live view).

Events reach the store from two paths (the MQTT consumer and HTTP ingest), both on the app's event
loop, so the feed is plain asyncio: each subscriber has a bounded queue. A subscriber that falls
that far behind is marked lagged and dropped rather than slowing ingest; its stream tells the client
to reload, so nothing is silently missing from what it shows.

Each session may hold a few streams (a few tabs), never all of them; on shutdown every stream is
told to end, since uvicorn waits for open responses before it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from anpr.messages import EventMessage
from services.api.schemas import AlertPublic, CandidatePublic, EventPublic
from services.api.store import EventStore

log = logging.getLogger("services.api.live")
QUEUE_SIZE = 256
MAX_SUBSCRIBERS = 32  # a Pi serves a handful of screens; each stream holds a connection
MAX_PER_SESSION = 4  # a few tabs of one signed-in browser


class TooManySubscribers(Exception):
    pass


class TooManyForSession(TooManySubscribers):
    pass


class FeedClosed(Exception):
    pass


class Subscription:
    def __init__(self, session: object = None) -> None:
        self.session = session
        #: None in the queue ends the stream (the service is stopping).
        self.queue: asyncio.Queue[EventPublic | AlertPublic | None] = asyncio.Queue(QUEUE_SIZE)
        self.lagged = False


class LiveFeed:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscribe(self, session: object = None) -> Subscription:
        if self.closed:
            raise FeedClosed("the service is stopping")
        if len(self._subs) >= MAX_SUBSCRIBERS:
            raise TooManySubscribers(f"at most {MAX_SUBSCRIBERS} live streams at a time")
        if session is not None and sum(s.session == session for s in self._subs) >= MAX_PER_SESSION:
            raise TooManyForSession(f"at most {MAX_PER_SESSION} live streams per session")
        with contextlib.suppress(RuntimeError):  # unit tests drive the feed without a loop
            self._loop = asyncio.get_running_loop()
        sub = Subscription(session)
        self._subs.add(sub)
        return sub

    def close(self) -> None:
        """End every stream and refuse new ones. Call on the event loop."""
        self.closed = True
        for sub in list(self._subs):
            while sub.queue.full():
                sub.queue.get_nowait()
            sub.queue.put_nowait(None)

    def close_threadsafe(self) -> None:
        """close() from a signal handler or another thread."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.close)
        else:
            self.closed = True

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def publish(self, event: EventPublic | AlertPublic) -> None:
        """Call on the event loop. Never blocks and never raises into ingest."""
        for sub in list(self._subs):
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.lagged = True
                self._subs.discard(sub)
                log.warning("a live subscriber fell %d events behind; dropped", QUEUE_SIZE)


class LiveEventStore(EventStore):
    """The store, plus: every newly stored event goes to the live feed (redeliveries do not)."""

    def __init__(self, feed: LiveFeed, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.feed = feed

    async def ingest(self, event: EventMessage) -> bool:
        stored = await super().ingest(event)
        if stored and self.feed.subscribers:
            self.feed.publish(self.public_of_message(event))
        return stored

    def public_of_message(self, event: EventMessage) -> EventPublic:
        return EventPublic(
            event_id=event.event_id,
            type=event.type,
            plate=event.plate,
            confidence=event.confidence,
            camera=event.camera,
            time=event.time.astimezone(self.tz),
            first_seen=event.first_seen.astimezone(self.tz),
            last_seen=event.last_seen.astimezone(self.tz),
            vehicle_class=event.vehicle_class,
            read_count=event.read_count,
            candidates=[CandidatePublic(text=c.text, confidence=c.confidence) for c in event.candidates],
            has_snapshot=bool(event.snapshot_jpeg),
        )

"""Stored events fanned out to live subscribers (the web app's live view).

Events reach the store from two paths (the MQTT consumer and HTTP ingest), both on the app's event
loop, so the feed is plain asyncio: each subscriber has a bounded queue. A subscriber that falls
that far behind is marked lagged and dropped rather than slowing ingest; its stream tells the client
to reload, so nothing is silently missing from what it shows.
"""

from __future__ import annotations

import asyncio
import logging

from anpr.messages import EventMessage
from services.api.schemas import CandidatePublic, EventPublic
from services.api.store import EventStore

log = logging.getLogger("services.api.live")
QUEUE_SIZE = 256
MAX_SUBSCRIBERS = 32  # a Pi serves a handful of screens; each stream holds a connection


class TooManySubscribers(Exception):
    pass


class Subscription:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[EventPublic] = asyncio.Queue(QUEUE_SIZE)
        self.lagged = False


class LiveFeed:
    def __init__(self) -> None:
        self._subs: set[Subscription] = set()

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscribe(self) -> Subscription:
        if len(self._subs) >= MAX_SUBSCRIBERS:
            raise TooManySubscribers(f"at most {MAX_SUBSCRIBERS} live streams at a time")
        sub = Subscription()
        self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subs.discard(sub)

    def publish(self, event: EventPublic) -> None:
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

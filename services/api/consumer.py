"""Events from the broker into the store, each answered with an acknowledgement.

A persistent MQTT session (fixed client id, clean_session false, QoS 1) makes the broker keep
events published while the service is down; they arrive when it reconnects. The bus handles
messages on the thread that calls `serve()`: here a background thread, which hands each event to
the app's event loop and waits.

Every event taken into custody is answered with an `AckMessage` on `acks`: stored, stored before
(a redelivery: the first answer may have been lost), or kept as a dead letter. The aggregator keeps
an event until that answer comes, so nothing is lost between its outbox and this database.

Only then is the MQTT message acknowledged. While the database is unavailable the handler raises
RetryLater, so the message is kept and retried. An event that can never be stored (a packet over
max_allowed_packet, a value no column holds, or one that keeps failing while the database answers)
goes to the dead letters instead of blocking every event behind it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable

from anpr.bus import MqttBus, RetryLater
from anpr.messages import AckMessage, AckOutcome, EventMessage, Kind, topic
from services.api.db import is_permanent, is_unavailable
from services.api.deadletters import DeadLetters
from services.api.settings import ApiSettings
from services.api.store import EventStore

log = logging.getLogger("services.api.consumer")
SERVICE = "api"
STORE_TIMEOUT_S = 60.0
#: Failures of one event, while the database answers, after which it is taken for one that never fits.
POISON_AFTER = 3


class EventConsumer:
    def __init__(
        self,
        settings: ApiSettings,
        store: EventStore,
        dead_letters: DeadLetters,
        database_ok: Callable[[], Awaitable[bool]],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        prefix = settings.common.topic_prefix
        self._store = store
        self._dead = dead_letters
        self._database_ok = database_ok
        self._loop = loop
        self._stop = threading.Event()
        self._failures: dict[uuid.UUID, int] = {}
        self._acks_topic = topic(prefix, Kind.ACKS)
        self.bus = MqttBus(settings.mqtt, SERVICE, prefix, persistent=True)
        self.bus.subscribe(topic(prefix, Kind.EVENTS), EventMessage, self._handle, qos=1)
        self._thread = threading.Thread(target=self._run, name="api-mqtt-events", daemon=True)
        self.stored = 0
        self.dead_lettered = 0

    @property
    def connected(self) -> bool:
        return self.bus.connected

    def start(self) -> None:
        self._thread.start()

    async def stop(self) -> None:
        self._stop.set()
        # close() marks the bus stopping, so a message waiting for the database is left unacked.
        await asyncio.to_thread(self.bus.close, "stopped")
        await asyncio.to_thread(self._thread.join, STORE_TIMEOUT_S)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.bus.connect(timeout_s=30)
                break
            except ConnectionError as exc:
                log.warning("%s; retrying", exc)
                self._stop.wait(5)
        self.bus.serve(self._stop)

    def _handle(self, _topic: str, event: EventMessage) -> None:
        future = asyncio.run_coroutine_threadsafe(self._take(event), self._loop)
        try:
            outcome = future.result(timeout=STORE_TIMEOUT_S)
        except RetryLater:
            raise
        except Exception as exc:
            future.cancel()
            if is_unavailable(exc):
                raise RetryLater(f"database unavailable: {exc.__class__.__name__}") from exc
            raise
        # QoS 1: queued by the client while the broker is away; a lost answer is answered again
        # when the aggregator re-sends.
        self.bus.publish(self._acks_topic, AckMessage(event_id=event.event_id, outcome=outcome), qos=1)

    async def _take(self, event: EventMessage) -> AckOutcome:
        try:
            stored = await self._store.ingest(event)
        except Exception as exc:
            reason = _reason(exc)
            if is_unavailable(exc) and not is_permanent(exc):
                failures = self._failures[event.event_id] = self._failures.get(event.event_id, 0) + 1
                if failures < POISON_AFTER or not await self._database_ok():
                    raise RetryLater(f"database unavailable: {reason}") from exc
            return await self._dead_letter(event, reason)
        self._failures.pop(event.event_id, None)
        if stored:
            self.stored += 1
            log.info("stored event %s (%s)", event.event_id, event.type.value)
            return AckOutcome.STORED
        log.info("event %s already stored; redelivery acknowledged again", event.event_id)
        return AckOutcome.DUPLICATE

    async def _dead_letter(self, event: EventMessage, reason: str) -> AckOutcome:
        new = await self._dead.keep(event, reason)
        self._failures.pop(event.event_id, None)
        if new:
            self.dead_lettered += 1
            log.error(
                "event %s can never be stored (%s); kept as a dead letter (%d in all; GET /api/v1/dead-letters)",
                event.event_id,
                reason,
                await self._dead.count(),
            )
        return AckOutcome.DEAD_LETTER


def _reason(exc: BaseException) -> str:
    """What went wrong, without the statement or its values (they may hold a plate)."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return f"{type(orig).__name__} {args[0]}: {str(args[1])[:160] if len(args) > 1 else ''}".strip()
    return type(exc).__name__

"""Events from the broker into the store.

A persistent MQTT session (fixed client id, clean_session false, QoS 1) makes the broker keep
events published while the service is down; they arrive when it reconnects. The bus handles
messages on the thread that calls `serve()`: here a background thread, which hands each event to
the app's event loop and waits. A message is acknowledged only after it is stored; when the
database is unavailable the handler raises RetryLater, so the message is kept and retried.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from anpr.bus import MqttBus, RetryLater
from anpr.messages import EventMessage, Kind, topic
from services.api.db import is_unavailable
from services.api.settings import ApiSettings
from services.api.store import EventStore

log = logging.getLogger("services.api.consumer")
SERVICE = "api"
STORE_TIMEOUT_S = 60.0


class EventConsumer:
    def __init__(self, settings: ApiSettings, store: EventStore, loop: asyncio.AbstractEventLoop) -> None:
        prefix = settings.common.topic_prefix
        self._store = store
        self._loop = loop
        self._stop = threading.Event()
        self.bus = MqttBus(settings.mqtt, SERVICE, prefix, persistent=True)
        self.bus.subscribe(topic(prefix, Kind.EVENTS), EventMessage, self._handle, qos=1)
        self._thread = threading.Thread(target=self._run, name="api-mqtt-events", daemon=True)
        self.stored = 0

    @property
    def connected(self) -> bool:
        return self.bus._connected.is_set()  # noqa: SLF001 - the bus has no public flag

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
        future = asyncio.run_coroutine_threadsafe(self._store.ingest(event), self._loop)
        try:
            stored = future.result(timeout=STORE_TIMEOUT_S)
        except Exception as exc:
            future.cancel()
            if is_unavailable(exc):
                raise RetryLater(f"database unavailable: {exc.__class__.__name__}") from exc
            raise
        if stored:
            self.stored += 1
            log.info("stored event %s (%s)", event.event_id, event.type.value)
        else:
            log.info("event %s already stored; redelivery ignored", event.event_id)

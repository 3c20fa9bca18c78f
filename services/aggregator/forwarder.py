"""The outbox to the records service over MQTT, with its end-to-end acknowledgements.

A broker's PUBACK only says the broker has the event, in memory until its next autosave, and a
queue limit can drop it later. So an event leaves the outbox only when the records service says it
stored it (an `AckMessage` on `acks`). Until then it goes out again:

* after every (re)connect to the broker, everything unacknowledged, oldest first (the broker may
  have lost what it held);
* while the records service is online (its retained `status/api`) but has acknowledged nothing for
  `ack_timeout_s`, an event sent at least that long ago, backing off per send. While acknowledgements
  keep coming it is working through its queue, which most likely holds the event; while it is offline
  the broker queues for it. Re-sending then would only fill that queue with copies.

Publishing runs on a thread of its own, at most `outbox_rate` events per second; acknowledgements
and status arrive on the bus's message thread. Repeats are harmless: events are stored by UUID.
"""

from __future__ import annotations

import logging
import threading
import time

from anpr.bus import MqttBus
from anpr.messages import AckMessage, AckOutcome, EventMessage, Kind, ServiceState, StatusMessage, topic
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator

log = logging.getLogger("aggregator.forwarder")
RECORDS_SERVICE = "api"
IDLE_S = 1.0


class Forwarder:
    def __init__(self, bus: MqttBus, settings: AggregatorSettings, stage: Aggregator) -> None:
        self._bus = bus
        self._settings = settings
        self._stage = stage
        self._outbox = stage.outbox
        self._events_topic = topic(settings.common.topic_prefix, Kind.EVENTS)
        self._wake = threading.Event()
        self._reconnected = threading.Event()
        self._records_online = False
        self._last_ack = time.monotonic()
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="aggregator-outbox", daemon=True)

    def attach(self) -> None:
        prefix = self._settings.common.topic_prefix
        self._bus.subscribe(topic(prefix, Kind.ACKS), AckMessage, self._on_ack, qos=1)
        self._bus.subscribe(
            topic(prefix, Kind.STATUS, RECORDS_SERVICE), StatusMessage, self._on_status, qos=1
        )
        self._bus.when_connected(self._on_connected)
        self._thread.start()

    def wake(self) -> None:
        """New events are in the outbox."""
        self._wake.set()

    # -- bus callbacks -----------------------------------------------------------------------------
    def _on_connected(self) -> None:
        self._reconnected.set()
        self._wake.set()

    def _on_ack(self, _topic: str, ack: AckMessage) -> None:
        self._last_ack = time.monotonic()
        self._stage.acknowledged(ack.event_id)
        log.debug("event %s acknowledged (%s)", ack.event_id, ack.outcome.value)
        if ack.outcome is AckOutcome.DEAD_LETTER:
            log.error(
                "the records service could not store event %s; it keeps it as a dead letter", ack.event_id
            )

    def _on_status(self, _topic: str, status: StatusMessage) -> None:
        online = status.state is ServiceState.ONLINE
        if online and not self._records_online:
            # Back after a while: give it time to work through its queue before re-sending.
            self._outbox.hold(time.time() + self._settings.ack_timeout_s)
            self._last_ack = time.monotonic()
            log.info("records service online; %d event(s) await its acknowledgement", self._outbox.count())
        self._records_online = online

    # -- the publishing thread ---------------------------------------------------------------------
    def _run(self) -> None:
        while not self.stop.is_set():
            self._wake.wait(IDLE_S)
            self._wake.clear()
            try:
                self._send_due()
            except Exception:
                log.exception("publishing the outbox failed; trying again")
                self.stop.wait(IDLE_S)

    def _send_due(self) -> None:
        rate = self._settings.outbox_rate
        while self._bus.connected and not self.stop.is_set():
            if self._reconnected.is_set():
                self._reconnected.clear()
                self._outbox.resend_all()
                if n := self._outbox.count():
                    log.info("connected: publishing %d unacknowledged event(s), oldest first", n)
            began = time.monotonic()
            stalled = time.monotonic() - self._last_ack >= self._settings.ack_timeout_s
            batch = self._outbox.due(max(1, int(rate)), resends=self._records_online and stalled)
            if not batch:
                return
            sent = [e.event_id for e in batch if self._publish(e)]
            self._outbox.mark_sent(sent, self._settings.ack_timeout_s)
            if len(sent) < len(batch):
                return  # the connection went; the reconnect re-sends
            self.stop.wait(max(0.0, len(batch) / rate - (time.monotonic() - began)))

    def _publish(self, event: EventMessage) -> bool:
        if not self._bus.connected:
            return False
        self._bus.publish(self._events_topic, event, qos=1)
        return True

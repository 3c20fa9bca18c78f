"""The outbox over MQTT (running Mosquitto): an event stays until the records service acknowledges it,
goes out again when the records service is online but silent, and is not re-sent while it is offline."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from anpr.bus import MqttBus
from anpr.messages import (
    AckMessage,
    AckOutcome,
    EventMessage,
    Kind,
    ReadsMessage,
    ServiceState,
    StatusMessage,
    encode,
    topic,
)
from anpr.settings import CommonSettings, MqttSettings
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from services.aggregator.wiring import wire
from tests.aggregator.helpers import at, plate_read

ACK_TIMEOUT_S = 1.0


class RecordsService:
    """Plays the records service: sees events, sets its retained status, acknowledges when told."""

    def __init__(self, broker: tuple[str, int], prefix: str) -> None:
        self.prefix = prefix
        self.events: queue.Queue[EventMessage] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"rs-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _c, _u, m: self.events.put(
            EventMessage.model_validate_json(m.payload)
        )
        self.client.connect(*broker)
        self.client.loop_start()
        self.client.subscribe(topic(prefix, Kind.EVENTS), qos=1)

    def send(self, kind: Kind, message, name: str | None = None, retain: bool = False) -> None:  # noqa: ANN001
        self.client.publish(
            topic(self.prefix, kind, name), encode(message), qos=1, retain=retain
        ).wait_for_publish(5)

    def status(self, state: ServiceState) -> None:
        self.send(Kind.STATUS, StatusMessage(service="api", state=state), "api", retain=True)

    def next_event(self, timeout_s: float) -> EventMessage | None:
        try:
            return self.events.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.client.publish(topic(self.prefix, Kind.STATUS, "api"), b"", qos=1, retain=True).wait_for_publish(
            5
        )
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def running(
    mqtt_broker: tuple[str, int], topic_prefix: str, tmp_path: Path
) -> Iterator[tuple[Aggregator, RecordsService]]:
    settings = AggregatorSettings(
        state_file=tmp_path / "aggregator.json",
        ack_timeout_s=ACK_TIMEOUT_S,
        common=CommonSettings(topic_prefix=topic_prefix),
        mqtt=MqttSettings(host=mqtt_broker[0], port=mqtt_broker[1], client_id=f"agg-{uuid.uuid4().hex[:8]}"),
    )
    records = RecordsService(mqtt_broker, topic_prefix)
    stage = Aggregator(settings)
    bus = MqttBus(settings.mqtt, "aggregator", topic_prefix)
    wire(bus, settings, stage)
    bus.connect(timeout_s=10)
    stop = threading.Event()
    serving = threading.Thread(target=bus.serve, args=(stop,), daemon=True)
    serving.start()
    try:
        yield stage, records
    finally:
        stop.set()
        serving.join(5)
        bus.close()
        records.close()


def _one_event(records: RecordsService, plate: str, t: float) -> None:
    for seq, (s, reads) in enumerate([(t, (plate_read(plate, t),)), (t + 60, ())], start=int(t)):
        records.send(Kind.READS, ReadsMessage(camera="gate", seq=seq, captured_at=at(s), reads=reads), "gate")


def test_an_event_stays_until_acknowledged_and_goes_out_again_only_while_the_api_is_online(running) -> None:  # noqa: ANN001
    stage, records = running
    records.status(ServiceState.OFFLINE)
    _one_event(records, "ABC1234", 0)
    first = records.next_event(10)
    assert first is not None and first.plate == "ABC1234"
    # Offline: the broker queues for it; no copies.
    assert records.next_event(3 * ACK_TIMEOUT_S) is None
    assert [e.event_id for e in stage.pending()] == [first.event_id]

    records.status(ServiceState.ONLINE)  # back, and silent: what it was sent goes out again
    again = records.next_event(4 * ACK_TIMEOUT_S + 3)
    assert again is not None and again.event_id == first.event_id
    assert [e.event_id for e in stage.pending()] == [first.event_id]

    records.send(Kind.ACKS, AckMessage(event_id=first.event_id, outcome=AckOutcome.STORED))
    deadline = time.monotonic() + 5
    while stage.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stage.pending() == []
    while records.next_event(0.1) is not None:  # copies already under way
        pass
    assert records.next_event(3 * ACK_TIMEOUT_S) is None  # acknowledged: never again

"""The bus through the running Mosquitto: validation on receive, resilience, acks, last will."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone

import paho.mqtt.client as mqtt
import pytest

from anpr.bus import MemoryBus, MqttBus, RetryLater
from anpr.messages import Kind, ReadsMessage, ServiceState, StatusMessage, decode, encode, topic
from anpr.settings import MqttSettings

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


def _reads(seq: int) -> ReadsMessage:
    return ReadsMessage(camera="gate", seq=seq, captured_at=T0)


def _raw_client(host: str, port: int) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"raw-{uuid.uuid4().hex[:8]}")
    c.connect(host, port)
    c.loop_start()
    return c


class Served:
    """An MqttBus serving on a thread, stopped at the end of the test."""

    def __init__(self, bus: MqttBus) -> None:
        self.bus, self.stop = bus, threading.Event()
        self.thread = threading.Thread(target=bus.serve, args=(self.stop,), daemon=True)

    def __enter__(self) -> MqttBus:
        self.bus.connect(timeout_s=10)
        self.thread.start()
        return self.bus

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(5)
        self.bus.close()
        assert not self.thread.is_alive()


def _wait(cond, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def settings(mqtt_broker: tuple[str, int]) -> MqttSettings:
    return MqttSettings(host=mqtt_broker[0], port=mqtt_broker[1], client_id=f"t-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def raw(mqtt_broker: tuple[str, int]) -> Iterator[mqtt.Client]:
    c = _raw_client(*mqtt_broker)
    yield c
    c.loop_stop()
    c.disconnect()


def test_malformed_and_truncated_messages_are_dropped_and_the_bus_goes_on(
    settings: MqttSettings, raw: mqtt.Client, topic_prefix: str
) -> None:
    got: list[int] = []
    bus = MqttBus(settings, "t", topic_prefix)
    t = topic(topic_prefix, Kind.READS, "gate")
    bus.subscribe(topic(topic_prefix, Kind.READS, "+"), ReadsMessage, lambda _t, m: got.append(m.seq))
    with Served(bus):
        for payload in (b"", b"{not json", encode(_reads(1))[:-5], b"\x00\xff" * 50, encode(_reads(2))):
            raw.publish(t, payload, qos=1).wait_for_publish(5)
        assert _wait(lambda: got == [2])
    assert bus.dropped == 4


def test_a_failing_handler_does_not_stop_the_bus(
    settings: MqttSettings, raw: mqtt.Client, topic_prefix: str
) -> None:
    got: list[int] = []

    def handler(_t: str, m: ReadsMessage) -> None:
        if m.seq == 1:
            raise RuntimeError("boom")
        got.append(m.seq)

    bus = MqttBus(settings, "t", topic_prefix)
    bus.subscribe(topic(topic_prefix, Kind.READS, "+"), ReadsMessage, handler)
    with Served(bus):
        for seq in (1, 2, 3):
            raw.publish(topic(topic_prefix, Kind.READS, "gate"), encode(_reads(seq)), qos=1).wait_for_publish(
                5
            )
        assert _wait(lambda: got == [2, 3])


def test_retry_later_keeps_the_message_until_the_handler_succeeds(
    settings: MqttSettings, raw: mqtt.Client, topic_prefix: str
) -> None:
    attempts: list[int] = []

    def handler(_t: str, m: ReadsMessage) -> None:
        attempts.append(m.seq)
        if len(attempts) < 3:
            raise RetryLater("database down")

    bus = MqttBus(settings, "t", topic_prefix)
    bus.subscribe(topic(topic_prefix, Kind.READS, "+"), ReadsMessage, handler)
    with Served(bus):
        raw.publish(topic(topic_prefix, Kind.READS, "gate"), encode(_reads(7)), qos=1).wait_for_publish(5)
        assert _wait(lambda: len(attempts) == 3)
    assert attempts == [7, 7, 7]


def test_persistent_consumer_gets_what_was_published_while_it_was_away(
    settings: MqttSettings, raw: mqtt.Client, topic_prefix: str
) -> None:
    got: list[int] = []
    t = topic(topic_prefix, Kind.READS, "gate")

    def consumer() -> MqttBus:
        bus = MqttBus(settings, "t", topic_prefix, persistent=True)
        bus.subscribe(t, ReadsMessage, lambda _t, m: got.append(m.seq))
        return bus

    with Served(consumer()):
        pass  # registers the session and its subscription
    for seq in (1, 2, 3):
        raw.publish(t, encode(_reads(seq)), qos=1).wait_for_publish(5)
    with Served(consumer()):
        assert _wait(lambda: got == [1, 2, 3])


def test_status_is_retained_and_the_last_will_marks_a_dead_service_offline(
    mqtt_broker: tuple[str, int], raw: mqtt.Client, topic_prefix: str
) -> None:
    seen: list[StatusMessage] = []
    raw.on_message = lambda _c, _u, m: m.payload and seen.append(decode(StatusMessage, m.payload))
    code = (
        "import time; from anpr.bus import MqttBus; from anpr.settings import MqttSettings; "
        f"b = MqttBus(MqttSettings(host='{mqtt_broker[0]}', port={mqtt_broker[1]}), 'victim', '{topic_prefix}'); "
        "b.connect(); print('up', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
        raw.subscribe(topic(topic_prefix, Kind.STATUS, "victim"), qos=1)
        assert _wait(lambda: any(s.state is ServiceState.ONLINE for s in seen))
        proc.kill()  # no clean disconnect: only the broker's last will can say it is gone
        assert _wait(lambda: seen[-1].state is ServiceState.OFFLINE, timeout=20)
    finally:
        proc.kill()
        proc.wait()
        raw.publish(topic(topic_prefix, Kind.STATUS, "victim"), b"", retain=True)  # clear the retained status


def test_memory_bus_dispatches_depth_first_and_drops_wrong_types() -> None:
    bus = MemoryBus()
    order: list[str] = []
    bus.subscribe("p/reads/+", ReadsMessage, lambda _t, m: order.append(f"reads{m.seq}"))
    bus.subscribe("p/status/+", ReadsMessage, lambda _t, m: order.append("never"))
    bus.publish("p/reads/gate", _reads(1))
    bus.publish("p/status/x", StatusMessage(service="x", state=ServiceState.ONLINE))
    assert order == ["reads1"]

"""Live events for MQTT subscribers: the all-in-one run forwards its events to the broker."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from anpr.bus import MemoryBus, MqttBus
from anpr.messages import EventMessage, EventType, Kind, VehicleClass, topic
from anpr.settings import MqttSettings
from services.pipeline.run import _event_forwarder, _forward_events
from services.pipeline.settings import PipelineSettings

T0 = datetime(2026, 11, 24, 8, 3, 21, tzinfo=timezone.utc)


def test_events_on_the_in_process_bus_reach_mqtt_subscribers(
    mqtt_env: dict[str, str], topic_prefix: str, tmp_path: Path
) -> None:
    host, port = mqtt_env["MQTT_HOST"], int(mqtt_env["MQTT_PORT"])
    got: list[EventMessage] = []
    listener = MqttBus(MqttSettings(host=host, port=port), "test-listener", topic_prefix)
    listener.subscribe(topic(topic_prefix, Kind.EVENTS), EventMessage, lambda _t, e: got.append(e))
    listener.connect()
    stop = threading.Event()
    serving = threading.Thread(target=listener.serve, args=(stop,), daemon=True)
    serving.start()
    bus = MemoryBus()
    settings = PipelineSettings(output_dir=tmp_path, forward_events=True)
    forwarder = _event_forwarder(settings)
    _forward_events(bus, forwarder, topic_prefix)
    event = EventMessage(
        type=EventType.ENTRY,
        plate="ABC1234",
        confidence=0.93,
        camera="gate",
        time=T0,
        first_seen=T0,
        last_seen=T0,
        vehicle_class=VehicleClass.CAR,
        read_count=4,
        snapshot_jpeg=b"\xff\xd8 not really a picture \xff\xd9",
    )
    try:
        bus.publish(topic(topic_prefix, Kind.EVENTS), event)
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        forwarder.close()
        stop.set()
        serving.join(5)
        listener.close()
    assert got == [event]


def test_forwarding_needs_a_reachable_broker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANPR_ENV_FILE", "/nonexistent/.env")
    settings = PipelineSettings(
        output_dir=tmp_path, forward_events=True, mqtt=MqttSettings(host="127.0.0.1", port=1)
    )
    with pytest.raises(ConnectionError, match="unreachable"):
        _event_forwarder(settings)

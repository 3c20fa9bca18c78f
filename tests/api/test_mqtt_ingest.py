"""End to end through the running Mosquitto: events published while the API is down are stored,
once each, when it starts (persistent session, QoS 1, fixed client id)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import func, select

from anpr.bus import MqttBus
from anpr.messages import EventType, Kind, topic
from anpr.settings import CommonSettings, MqttSettings
from services.api.models import Event
from services.api.runtime import Runtime
from services.api.store import EventFilter
from tests.api.conftest import Clock, KeyMaterial, RealPlate, event, make_settings

pytestmark = pytest.mark.anyio


async def _wait(predicate, timeout_s: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False


def _forget_session(host: str, port: int, client_id: str) -> None:
    """Leave no persistent session behind on the shared broker."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    c.connect(host, port)
    c.loop_start()
    time.sleep(0.3)
    c.disconnect()
    c.loop_stop()


@pytest.mark.parametrize("db_url", ["mariadb"], indirect=True)
async def test_events_published_while_stopped_are_stored_once(
    db_url: str,
    mqtt_env: dict[str, str],
    topic_prefix: str,
    key_material: KeyMaterial,
    clock: Clock,
    real_plates: list[RealPlate],
) -> None:
    client_id = f"api-test-{uuid.uuid4().hex[:10]}"
    settings = make_settings(
        db_url,
        key_material,
        mqtt_ingest=True,
        mqtt=MqttSettings(client_id=client_id),
        common=CommonSettings(environment="development", topic_prefix=topic_prefix),
    )
    host, port = mqtt_env["MQTT_HOST"], int(mqtt_env["MQTT_PORT"])
    try:
        first = Runtime(settings, clock)  # the first run creates the broker-side session
        await first.start()
        assert first.consumer is not None
        consumer = first.consumer

        async def connected() -> bool:
            return consumer.connected

        assert await _wait(connected, 10)
        await first.stop()

        events = [
            event(rp.plate, EventType.ENTRY if i % 2 == 0 else EventType.EXIT, clock() + timedelta(seconds=i))
            for i, rp in enumerate(real_plates[:20])
        ]
        edge = MqttBus(MqttSettings(client_id=f"edge-{client_id}"), "edge-test", topic_prefix)
        edge.connect(timeout_s=10)
        for ev in events + events[:5]:  # the last five are redeliveries of events already sent
            assert edge.publish_and_wait(topic(topic_prefix, Kind.EVENTS), ev, qos=1)
        edge.close()

        second = Runtime(settings, clock)
        await second.start()
        try:

            async def stored() -> int:
                async with second.sf() as s:
                    return int(await s.scalar(select(func.count()).select_from(Event)) or 0)

            assert await _wait(lambda: _ge(stored, len(events)), 30), "not every event arrived"
            await asyncio.sleep(1.0)  # let the redeliveries through too
            assert await stored() == len(events)
            assert second.consumer is not None and second.consumer.stored == len(events)
            items, total = await second.store.search(EventFilter(), 100, 0)
            assert total == len(events)
            assert {e.event_id for e in items} == {ev.event_id for ev in events}
        finally:
            await second.stop()
    finally:
        _forget_session(host, port, client_id)


async def _ge(count, n: int) -> bool:  # noqa: ANN001
    return await count() >= n

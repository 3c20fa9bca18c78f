"""An event that can never be stored must not block MQTT ingest: on a MariaDB whose max_allowed_packet
is smaller than the event (error 1153), it goes to the dead letters (kept whole, sealed, counted,
listed for the owner, logged as an error, in /readyz), is acknowledged, and the events behind it are
stored."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pymysql
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from anpr.bus import MqttBus
from anpr.messages import AckMessage, AckOutcome, EventType, Kind, topic
from anpr.settings import CommonSettings, MqttSettings
from services.api.app import create_app
from services.api.models import Event
from services.api.runtime import Runtime
from tests.api.conftest import Api, Clock, KeyMaterial, RealPlate, event, make_settings
from tests.api.private_mariadb import private_mariadb
from tests.api.test_mqtt_ingest import _forget_session, _wait

pytestmark = pytest.mark.anyio
PACKET_LIMIT = 256 * 1024
BAD_SNAPSHOT = b"\xff\xd8" + b"DEADLETTER-MARK" * (600 * 1024 // 15) + b"\xff\xd9"  # under the schema's 1 MiB


@pytest.fixture(scope="module")
def small_packet_db(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    with private_mariadb(tmp_path_factory.mktemp("mariadb"), f"--max-allowed-packet={PACKET_LIMIT}") as url:
        yield url


class Acks:
    """The aggregator's side: what the records service acknowledges, as the aggregator's user sees it."""

    def __init__(self, prefix: str, client_id: str) -> None:
        self.got: dict[uuid.UUID, AckOutcome] = {}
        self._stop = threading.Event()
        self.bus = MqttBus(MqttSettings(client_id=client_id), "ack-listener", prefix)
        self.bus.subscribe(topic(prefix, Kind.ACKS), AckMessage, self._on_ack)
        self.bus.connect(timeout_s=10)
        self._thread = threading.Thread(target=self.bus.serve, args=(self._stop,), daemon=True)
        self._thread.start()

    def _on_ack(self, _t: str, ack: AckMessage) -> None:
        self.got[ack.event_id] = ack.outcome

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.bus.close()


async def test_an_event_too_large_for_the_database_is_dead_lettered_and_ingest_goes_on(
    small_packet_db: str,
    mqtt_env: dict[str, str],
    topic_prefix: str,
    key_material: KeyMaterial,
    clock: Clock,
    real_plates: list[RealPlate],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client_id = f"api-dead-{uuid.uuid4().hex[:10]}"
    settings = make_settings(
        small_packet_db,
        key_material,
        mqtt_ingest=True,
        mqtt=MqttSettings(client_id=client_id),
        common=CommonSettings(environment="development", topic_prefix=topic_prefix),
    )
    host, port = mqtt_env["MQTT_HOST"], int(mqtt_env["MQTT_PORT"])
    bad = event("DEAD123", EventType.ENTRY, clock(), snapshot=BAD_SNAPSHOT)
    good = [
        event(rp.plate, EventType.ENTRY, clock() + timedelta(seconds=i + 1), snapshot=rp.jpeg[:20_000])
        for i, rp in enumerate(real_plates[:20])
    ]
    runtime = Runtime(settings, clock)
    app = create_app(settings, runtime)
    acks = Acks(topic_prefix, f"acks-{client_id}")
    edge = MqttBus(MqttSettings(client_id=f"edge-{client_id}"), "edge-test", topic_prefix)
    try:
        with caplog.at_level(logging.ERROR, logger="services.api.consumer"):
            async with app.router.lifespan_context(app):
                assert await _wait(lambda: _true(runtime.consumer.connected), 10)
                edge.connect(timeout_s=10)
                for ev in [bad, *good]:
                    assert edge.publish_and_wait(topic(topic_prefix, Kind.EVENTS), ev, qos=1)

                async def stored() -> int:
                    async with runtime.sf() as s:
                        return int(await s.scalar(select(func.count()).select_from(Event)) or 0)

                assert await _wait(lambda: _ge(stored, len(good)), 60), (
                    f"{await stored()} of {len(good)} events behind the oversized one stored"
                )
                assert await _wait(lambda: _true(len(acks.got) == len(good) + 1), 10), acks.got
                assert acks.got[bad.event_id] is AckOutcome.DEAD_LETTER
                assert {acks.got[e.event_id] for e in good} == {AckOutcome.STORED}

                # Kept whole (sealed, in chunks the small packet limit takes) and counted.
                assert await runtime.dead_letters.event(bad.event_id) == bad
                assert await runtime.dead_letters.count() == 1
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://api.test"
                ) as http:
                    ready = (await http.get("/readyz")).json()
                    assert ready["status"] == "ready" and ready["dead_letters"] == 1
                    assert (await http.get("/api/v1/dead-letters")).status_code == 401
                    owner = Api(http, runtime, clock)
                    headers = await owner.session(await owner.new_client())
                    listed = (await http.get("/api/v1/dead-letters", headers=headers)).json()
                    whole = await http.get(f"/api/v1/dead-letters/{bad.event_id}", headers=headers)
                [item] = listed["items"]
                assert (item["event_id"], item["plate"], listed["total"]) == (str(bad.event_id), "DEAD123", 1)
                # MariaDB answers 1153, or (aiomysql still writing) just drops the connection: 2013.
                assert item["reason"].startswith("OperationalError") and item["size"] > PACKET_LIMIT
                assert whole.status_code == 200 and whole.content == bad.model_dump_json().encode()
    finally:
        edge.close()
        acks.close()
        _forget_session(host, port, client_id)

    assert f"event {bad.event_id} can never be stored" in caplog.text
    assert "DEAD123" not in caplog.text
    # Nothing of it in clear in the database.
    u = make_url(small_packet_db)
    conn = pymysql.connect(host=u.host, port=u.port, user="root", password="", database="anpr")
    with conn.cursor() as cur:
        cur.execute("SELECT plate_ct FROM dead_letters")
        [(plate_ct,)] = cur.fetchall()
        cur.execute("SELECT data_ct FROM dead_letter_chunks")
        chunks = [row[0] for row in cur.fetchall()]
    conn.close()
    assert b"DEAD123" not in plate_ct and len(chunks) > 1
    assert not any(b"DEADLETTER-MARK" in c or b"DEAD123" in c for c in chunks)


async def _true(value: bool) -> bool:
    return value


async def _ge(count, n: int) -> bool:  # noqa: ANN001
    return await count() >= n

"""Store and forward over a day with the records service away: nothing lost, nothing twice.

The edge broker runs with the deployment's own config, ACL and passwords (tests/deploy/conftest.py).
The records API (`python -m services.api`, MariaDB) connects once, so the broker keeps its persistent
session, and is then stopped for the whole run. A day of a busy lot (2,600 cars in and out: 5,200
events) goes through the real aggregator process as plate reads. Half way, the broker is killed -9
and started again on its data directory; at the end the aggregator is killed -9 and started again,
then the API starts. Every event must be in MariaDB exactly once, and the aggregator's outbox empty.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pymysql
import pytest
from sqlalchemy.engine import make_url

from anpr.messages import Box, Candidate, PlateRead, ReadsMessage, VehicleClass, encode
from tests.deploy.conftest import Broker, launch
from tests.deploy.test_topology import Processes, base_env, free_port, make_pi_secrets, wait_healthy

CARS = 2600  # a day of a busy lot: each car makes an entry and an exit event
PARKED = 200  # cars inside at any time
STEP_S = 31.0  # one frame with reads every 31 s: each closes the sightings of the frame before
BATCH = 50  # frames sent before waiting for their events (below the bus queue, 64, and dedupe memory)
ALPHABET = "ACDEFHJKLMNPRTUVWXY3479"  # no confusable characters: plates never merge
SNAPSHOT = bytes(random.Random(7).getrandbits(8) for _ in range(3000))  # a small vehicle picture's weight


def plates() -> list[str]:
    rng, out = random.Random(2026), set()
    while len(out) < CARS:
        out.add("".join(rng.choice(ALPHABET) for _ in range(7)))
    return sorted(out, key=lambda _p: rng.random())


def day_of_reads(start: datetime) -> list[ReadsMessage]:
    """Frame k: car k arrives and car k-PARKED leaves; a last frame closes the last sightings."""
    cars = plates()
    frames = []
    for k in range(CARS + PARKED + 1):
        t = start + timedelta(seconds=k * STEP_S)
        seen = [cars[k]] if k < CARS else []
        seen += [cars[k - PARKED]] if PARKED <= k < CARS + PARKED else []
        frames.append(
            ReadsMessage(camera="gate", seq=k, captured_at=t, reads=tuple(_read(p, t) for p in seen))
        )
    return frames


def _read(plate: str, t: datetime) -> PlateRead:
    return PlateRead(
        text=plate,
        normalized=plate,
        confidence=0.9,
        candidates=(Candidate(text=plate, confidence=0.9),),
        vehicle_box=Box(x=10, y=20, w=300, h=200),
        vehicle_class=VehicleClass.CAR,
        engine="test",
        captured_at=t,
        snapshot_jpeg=SNAPSHOT,
    )


def events_made_by(frames: list[ReadsMessage], handled: int) -> int:
    """Events the aggregator has made once it handled the first `handled` frames: every read but
    those of the last frame handled (its sightings are still open)."""
    return sum(len(f.reads) for f in frames[: max(0, handled - 1)])


class Client:
    """A paho client as one broker user; reconnects by itself, subscriptions renewed on connect.

    Its session is clean: what is published while it is away never reaches it, so after a broker
    restart the test waits for `ready` (connected and every subscription acknowledged) before
    sending more reads."""

    def __init__(self, broker: Broker, user: str, *topics: str) -> None:
        self.seen: set[str] = set()
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"sf-{user}-{uuid.uuid4().hex[:6]}"
        )
        self.client.username_pw_set(user, broker.passwords[user])
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)

        self._subscribed = threading.Event()
        pending: set[int] = set()

        def on_connect(c: mqtt.Client, *_a: object) -> None:
            pending.clear()
            for t in topics:
                pending.add(c.subscribe(t, qos=1)[1])
            if not topics:
                self._subscribed.set()
            self._connected.set()

        def on_subscribe(_c: mqtt.Client, _u: object, mid: int, *_a: object) -> None:
            pending.discard(mid)
            if not pending:
                self._subscribed.set()

        def on_disconnect(*_a: object) -> None:
            self._connected.clear()
            self._subscribed.clear()

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_disconnect = on_disconnect
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self.ready(10), f"{user} could not connect and subscribe"

    def ready(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s) and self._subscribed.wait(timeout_s)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        event_id = msg.payload[msg.payload.find(b'"event_id":"') + 12 :][:36].decode()
        with self._lock:
            self.seen.add(event_id)

    def count(self) -> int:
        with self._lock:
            return len(self.seen)

    def publish(self, topic_name: str, payload: bytes) -> None:
        assert self._connected.wait(30), "not connected to the broker"
        info = self.client.publish(topic_name, payload, qos=1)
        info.wait_for_publish(30)
        assert info.is_published(), f"no PUBACK for {topic_name}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(what: str, check, timeout_s: float, procs: Processes, poll_s: float = 0.5) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not check():
        procs.assert_alive()
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s:.0f} s\n{procs.log('aggregator')}")
        time.sleep(poll_s)


@pytest.fixture
def database(mariadb_url: str) -> Iterator[str]:
    url = make_url(mariadb_url)
    name = f"anpr_storefwd_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(
        host=url.host, port=url.port or 3306, user=url.username, password=url.password or ""
    )
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def stored(database: str) -> tuple[int, int, int]:
    """(rows, distinct event ids, entries) in the events table."""
    url = make_url(database)
    conn = pymysql.connect(
        host=url.host,
        port=url.port or 3306,
        user=url.username,
        password=url.password or "",
        database=url.database,
    )
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW TABLES LIKE 'events'")
            if not cur.fetchall():
                return 0, 0, 0
            cur.execute(
                "SELECT COUNT(*), COUNT(DISTINCT event_id), COALESCE(SUM(type = 'entry'), 0) FROM events"
            )
            rows, distinct, entries = cur.fetchone()
            return int(rows), int(distinct), int(entries)
    finally:
        conn.close()


class Later:
    """The stored counts, read when a failure message is printed."""

    def __init__(self, database: str) -> None:
        self.database = database

    def __str__(self) -> str:
        return str(stored(self.database))


def outbox_count(path: Path) -> int | None:
    if not path.exists():
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])
    finally:
        conn.close()


def start_api(procs: Processes, env: dict[str, str], port: int) -> None:
    procs.start("api", ["services.api", "serve"], env)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:

        def ready() -> bool:
            try:
                r = http.get("/readyz")
            except httpx.TransportError:
                return False
            return r.status_code == 200 and r.json()["mqtt"] == "connected"

        wait_until("the API ready and connected", ready, 120, procs)


def stop(procs: Processes, name: str, *, kill: bool = False) -> None:
    p = procs.procs.pop(name)
    if kill:
        p.kill()
    else:
        p.terminate()
    p.wait(30)


@pytest.mark.slow
def test_a_day_of_events_with_the_api_away_and_a_broker_crash_is_stored_exactly_once(
    make_broker, database: str, tmp_path: Path
) -> None:
    broker = make_broker(f"storefwd-{uuid.uuid4().hex[:8]}/anpr/v1")
    frames = day_of_reads(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=25))
    expected = events_made_by(frames, len(frames))
    assert expected == 2 * CARS
    pi = make_pi_secrets(broker)
    common = base_env(tmp_path)
    api_port = free_port()
    api_env = (
        common
        | broker.env("api")
        | {
            "MQTT_CLIENT_ID": "anpr-records",
            "API_DATABASE_URL": database,
            "API_PRIVATE_KEY_FILE": str(pi / "api_rsa_key.pem"),
            "API_KEY_PASSPHRASE": (pi / "api_key_passphrase").read_text().strip(),
            "API_BLIND_INDEX_KEY": (pi / "api_blind_index_key").read_text().strip(),
            "API_AUDIT_KEY": (pi / "api_audit_key").read_text().strip(),
            "API_HOST": "127.0.0.1",
            "API_PORT": str(api_port),
        }
    )
    state = tmp_path / "aggregator.json"
    aggregator_env = (
        common
        | broker.env("aggregator")
        | {
            "MQTT_CLIENT_ID": "anpr-aggregator",
            "AGGREGATOR_STATE_FILE": str(state),
            "AGGREGATOR_OUTBOX_RATE": "500",
        }
    )
    outbox = state.with_suffix(".outbox.sqlite")
    procs = Processes(tmp_path)
    reads_topic, events_topic = broker.topic("reads/gate"), broker.topic("events")
    ocr = observer = None
    try:
        # The records service's first start makes its persistent session; then it is away all day.
        start_api(procs, api_env, api_port)
        stop(procs, "api")

        procs.start("aggregator", ["services.aggregator"], aggregator_env)
        observer = Client(broker, "api", events_topic)  # sees what the aggregator publishes
        ocr = Client(broker, "ocr")
        wait_healthy("aggregator", common | broker.env("aggregator"), procs, timeout_s=60)
        half = len(frames) // 2
        sent = 0
        for part_end in (half, len(frames)):
            while sent < part_end:
                batch = frames[sent : min(sent + BATCH, part_end)]
                for frame in batch:
                    ocr.publish(reads_topic, encode(frame))
                sent += len(batch)
                made = events_made_by(frames, sent)
                wait_until(f"{made} events published", lambda made=made: observer.count() >= made, 300, procs)
            if part_end == half:
                # Half a day in, thousands of events queued for the API at the broker: kill -9.
                broker.proc.kill()
                broker.proc.wait(10)
                launch(broker)
                assert observer.ready(60) and ocr.ready(60), "the test's clients did not reconnect"
        assert observer.count() == expected

        # The aggregator crashes too; its outbox survives.
        stop(procs, "aggregator", kill=True)
        left = outbox_count(outbox)
        procs.start("aggregator", ["services.aggregator"], aggregator_env)

        start_api(procs, api_env, api_port)
        wait_until(
            f"all {expected} events in MariaDB and the outbox empty (stored, distinct, entries: {Later(database)})",
            lambda: stored(database)[1] >= expected and outbox_count(outbox) in (0, None),
            900,
            procs,
            poll_s=2,
        )
        time.sleep(3)  # redeliveries still in flight must not add rows
        rows, distinct, entries = stored(database)
        print(
            f"\nstored {rows} rows, {distinct} distinct events ({entries} entries) of {expected}; outbox held {left}"
        )
        assert (rows, distinct, entries) == (expected, expected, CARS)
        procs.assert_alive()
    finally:
        procs.stop()
        for c in (ocr, observer):
            if c is not None:
                c.close()

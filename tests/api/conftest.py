"""Fixtures for the records service: keys made once per session, a MariaDB database of this
session's own (dropped at the end), SQLite files per test, a clock tests can move, and a client
that logs in through the real endpoint."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pymysql
import pyotp
import pytest
from sqlalchemy.engine import make_url

from anpr.messages import Candidate, EventMessage, EventType, VehicleClass
from anpr.plates import normalize
from anpr.settings import CommonSettings, MqttSettings
from services.api import keyfile
from services.api.app import create_app
from services.api.auth import NewClient
from services.api.runtime import Runtime
from services.api.settings import ApiSettings

PASSPHRASE = "correct horse battery staple"
TEST_SCRYPT_N = 2**10  # cheap on purpose; allowed only with ANPR_ENVIRONMENT=development
TABLES = (
    "webhook_attempts",
    "webhook_deliveries",
    "webhooks",
    "alerts",
    "plate_list_near_index",
    "plate_list_entries",
    "payments",
    "tariff_versions",
    "audit_log",
    "audit_head",
    "stats_hourly",
    "visits",
    "sightings",
    "event_corrections",
    "login_failures",
    "sessions",
    "event_near_index",
    "events",
    "dead_letter_chunks",
    "dead_letters",
    "clients",
    "data_keys",
    "rsa_keys",
    "alembic_version",
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class KeyMaterial:
    key_file: Path
    pair: keyfile.KeyPair
    index_key_b64: str


@pytest.fixture(scope="session")
def key_material(tmp_path_factory: pytest.TempPathFactory) -> KeyMaterial:
    """RSA-3072 generation is slow-ish: one pair for the whole session."""
    path = tmp_path_factory.mktemp("keys") / "api-rsa.pem"
    pair = keyfile.generate(3072)
    keyfile.write(path, pair, PASSPHRASE, TEST_SCRYPT_N)
    return KeyMaterial(path, pair, base64.urlsafe_b64encode(os.urandom(32)).decode())


def _admin(url: str) -> pymysql.connections.Connection:
    u = make_url(url)
    return pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "")


@contextmanager
def own_database(mariadb_url: str, prefix: str) -> Iterator[str]:
    """A database of its own on the shared server, dropped at the end."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = _admin(mariadb_url)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield make_url(mariadb_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture(scope="session")
def mariadb_database(mariadb_url: str) -> Iterator[str]:
    """This session's database for the in-process tests (emptied before each test)."""
    with own_database(mariadb_url, "anpr_api") as url:
        yield url


def empty_mariadb(url: str) -> None:
    conn = _admin(url)
    name = make_url(url).database
    with conn.cursor() as cur:
        cur.execute("SET FOREIGN_KEY_CHECKS=0")
        for table in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS `{name}`.`{table}`")
    conn.close()


@pytest.fixture(params=["sqlite", "mariadb"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test starts from an empty database: a new SQLite file, or the session's MariaDB emptied."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
        return
    url = request.getfixturevalue("mariadb_database")
    empty_mariadb(url)
    yield url
    empty_mariadb(url)


class Clock:
    """A clock tests move by hand; starts at the real time so TOTP codes are real codes."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make_settings(db_url: str, keys: KeyMaterial, **overrides: Any) -> ApiSettings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "private_key_file": keys.key_file,
        "key_passphrase": PASSPHRASE,
        "key_scrypt_n": TEST_SCRYPT_N,
        "blind_index_key": keys.index_key_b64,
        "device_token": "device-token-for-tests-0123456789",
        "mqtt_ingest": False,
        "db_wait_s": 5,
        "common": CommonSettings(environment="development", timezone="America/Chicago"),
        "mqtt": MqttSettings(),
    }
    values.update(overrides)
    return ApiSettings(**values)


@pytest.fixture
def settings(db_url: str, key_material: KeyMaterial) -> ApiSettings:
    return make_settings(db_url, key_material)


@pytest.fixture
async def runtime(settings: ApiSettings, clock: Clock) -> AsyncIterator[Runtime]:
    rt = Runtime(settings, clock)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


@dataclass
class Api:
    """The app in process, reached over httpx's ASGI transport (no mocks: real routes, real DB)."""

    http: httpx.AsyncClient
    runtime: Runtime
    clock: Clock

    async def new_client(self, name: str = "owner") -> NewClient:
        return await self.runtime.client_admin().create(name)

    def code(self, client: NewClient, at: datetime | None = None) -> str:
        return pyotp.TOTP(client.totp_secret).at(at or self.clock())

    async def login(self, client: NewClient, code: str | None = None) -> httpx.Response:
        body = {"token": client.token, "code": code or self.code(client)}
        return await self.http.post("/api/v1/auth/login", json=body)

    async def session(self, client: NewClient) -> dict[str, str]:
        """Authorization header of a fresh session (moves the clock a step on: a code is single-use)."""
        self.clock.advance(seconds=30)
        resp = await self.login(client)
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['session_token']}"}


@pytest.fixture
async def api(settings: ApiSettings, clock: Clock) -> AsyncIterator[Api]:
    runtime = Runtime(settings, clock)
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            yield Api(http, runtime, clock)


# -- real plates and snapshots -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RealPlate:
    plate: str
    jpeg: bytes


@pytest.fixture(scope="session")
def real_plates(data_dir: Path) -> list[RealPlate]:
    """Plates and vehicle photos of openalpr's US benchmark (ground-truth text from the sidecars)."""
    out = []
    for txt in sorted((data_dir / "openalpr_benchmarks" / "us").glob("*.txt")):
        plate = normalize(txt.read_text().split("\t")[5])
        jpg = txt.with_suffix(".jpg")
        if 5 <= len(plate) <= 8 and jpg.is_file() and jpg.stat().st_size < 120_000:
            out.append(RealPlate(plate, jpg.read_bytes()))
    assert len(out) >= 40, "expected the openalpr US benchmark set"
    # Unique plates only: several photos show the same car.
    return list({p.plate: p for p in out}.values())


def event(
    plate: str,
    kind: EventType = EventType.ENTRY,
    at: datetime | None = None,
    camera: str = "gate-in",
    snapshot: bytes | None = None,
    candidates: tuple[str, ...] = (),
) -> EventMessage:
    at = at or datetime.now(timezone.utc)
    return EventMessage(
        type=kind,
        plate=plate,
        confidence=0.91,
        camera=camera,
        time=at,
        first_seen=at - timedelta(seconds=2),
        last_seen=at + timedelta(seconds=1),
        vehicle_class=VehicleClass.CAR,
        read_count=7,
        candidates=tuple(Candidate(text=c, confidence=0.5) for c in candidates),
        snapshot_jpeg=snapshot,
    )

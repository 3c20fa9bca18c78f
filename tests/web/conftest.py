"""The web app end to end: the real API served by uvicorn on a free local port (MariaDB, keys as in
tests/api, MQTT ingest through the running Mosquitto), driven by Debian's headless Chromium through
Playwright's Python package. `scripts/browser.sh` installs both; no browser is ever downloaded.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import httpx
import paho.mqtt.client as mqtt
import pyotp
import pytest
import uvicorn

from anpr.bus import MqttBus
from anpr.messages import Candidate, EventMessage, EventType, Kind, VehicleClass, encode, topic
from anpr.settings import CommonSettings, MqttSettings
from services.api.app import create_app
from services.api.auth import NewClient
from services.api.runtime import Runtime
from tests.api.conftest import (  # noqa: F401 - fixtures shared with the API tests
    KeyMaterial,
    RealPlate,
    empty_mariadb,
    key_material,
    make_settings,
    mariadb_database,
    real_plates,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
DEVICE_TOKEN = "device-token-for-tests-0123456789"
T = TypeVar("T")


# -- the server ------------------------------------------------------------------------------------------
@dataclass
class LiveServer:
    base_url: str
    runtime: Runtime
    loop: asyncio.AbstractEventLoop
    topic_prefix: str
    mqtt: MqttSettings
    seeded: list[EventMessage] = field(default_factory=list)

    def call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30) -> T:
        """Run a coroutine on the server's own event loop (where its database engine lives)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout_s)

    def new_client(self, name: str | None = None) -> NewClient:
        return self.call(self.runtime.client_admin().create(name or f"owner-{uuid.uuid4().hex[:6]}"))

    def ingest(self, event: EventMessage) -> None:
        """Through the edge's HTTP path, as the device would."""
        resp = httpx.post(
            f"{self.base_url}/api/v1/ingest",
            content=encode(event),
            headers={"X-Device-Token": DEVICE_TOKEN, "Content-Type": "application/json"},
            timeout=30,
        )
        assert resp.status_code == 201, resp.text

    def publish(self, event: EventMessage) -> None:
        """Through the running Mosquitto, as the aggregator would."""
        edge = MqttBus(
            self.mqtt.model_copy(update={"client_id": f"edge-{uuid.uuid4().hex[:8]}"}),
            "edge-test",
            self.topic_prefix,
        )
        edge.connect(timeout_s=10)
        try:
            assert edge.publish_and_wait(topic(self.topic_prefix, Kind.EVENTS), event, qos=1)
        finally:
            edge.close()

    def login(self, client: NewClient) -> str:
        """A session for API checks made beside the browser (each client's code works once)."""
        body = {"token": client.token, "code": pyotp.TOTP(client.totp_secret).now()}
        resp = httpx.post(f"{self.base_url}/api/v1/auth/login", json=body, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()["session_token"]

    def get(self, path: str, token: str | None, **params: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.get(f"{self.base_url}{path}", headers=headers, params=params, timeout=30)


def _forget_session(host: str, port: int, client_id: str) -> None:
    """Leave no persistent session behind on the shared broker."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    c.connect(host, port)
    c.loop_start()
    time.sleep(0.3)
    c.disconnect()
    c.loop_stop()


def _wait(predicate, timeout_s: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(params=["mariadb"])
def web_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """MariaDB (the production database), emptied around the test; a test may ask for sqlite too."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'api.db'}"
        return
    url = request.getfixturevalue("mariadb_database")
    empty_mariadb(url)
    yield url
    empty_mariadb(url)


@pytest.fixture
def server(
    web_db: str,
    key_material: KeyMaterial,  # noqa: F811 - the fixture imported above
    mqtt_env: dict[str, str],
    topic_prefix: str,
) -> Iterator[LiveServer]:
    client_id = f"api-web-{uuid.uuid4().hex[:10]}"
    mqtt_settings = MqttSettings(
        host=mqtt_env["MQTT_HOST"], port=int(mqtt_env["MQTT_PORT"]), client_id=client_id
    )
    settings = make_settings(
        web_db,
        key_material,
        mqtt_ingest=True,
        mqtt=mqtt_settings,
        device_token=DEVICE_TOKEN,
        lot_spaces=10,
        common=CommonSettings(
            environment="development", topic_prefix=topic_prefix, timezone="America/Chicago"
        ),
    )
    runtime = Runtime(settings)  # the real clock: TOTP codes are real codes
    app = create_app(settings, runtime)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(
        uvicorn.Config(
            app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2, proxy_headers=False
        )
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(uv.serve(sockets=[sock]),), daemon=True)
    thread.start()
    try:
        _wait(lambda: uv.started or not thread.is_alive(), 60, "the API to start")
        assert uv.started, "the API did not start (see the log above)"
        _wait(lambda: runtime.consumer is not None and runtime.consumer.connected, 15, "the MQTT consumer")
        time.sleep(0.3)  # the subscription goes out with the connection; let the broker take it
        yield LiveServer(f"http://127.0.0.1:{port}", runtime, loop, topic_prefix, mqtt_settings)
    finally:
        uv.should_exit = True
        thread.join(30)
        sock.close()
        loop.close()
        _forget_session(mqtt_settings.host, mqtt_settings.port, client_id)


# -- data ------------------------------------------------------------------------------------------------
def make_event(
    plate: str,
    kind: EventType,
    at: datetime,
    *,
    camera: str | None = None,
    snapshot: bytes | None = None,
    vehicle: VehicleClass = VehicleClass.CAR,
    confidence: float = 0.93,
) -> EventMessage:
    return EventMessage(
        type=kind,
        plate=plate,
        confidence=confidence,
        camera=camera or ("gate-in" if kind is EventType.ENTRY else "gate-out"),
        time=at,
        first_seen=at - timedelta(seconds=3),
        last_seen=at + timedelta(seconds=1),
        vehicle_class=vehicle,
        read_count=9,
        candidates=(Candidate(text=plate[:-1] + ("8" if plate[-1] != "8" else "3"), confidence=0.41),),
        snapshot_jpeg=snapshot,
    )


def seed(server: LiveServer, plates: list[RealPlate], now: datetime) -> list[EventMessage]:
    """A day and a half of traffic with real plates and photos: completed visits, cars still parked,
    and visits from yesterday, so every view has something true to show."""
    events: list[EventMessage] = []
    classes = [VehicleClass.CAR, VehicleClass.TRUCK, VehicleClass.CAR, VehicleClass.MOTORCYCLE]
    for i, rp in enumerate(plates[:10]):
        entry = now - timedelta(hours=9 - i * 0.8, minutes=7 * i)
        vehicle = classes[i % len(classes)]
        conf = 0.78 + 0.02 * i
        events.append(
            make_event(rp.plate, EventType.ENTRY, entry, snapshot=rp.jpeg, vehicle=vehicle, confidence=conf)
        )
        if i % 3 != 2:  # every third car is still inside
            stay = timedelta(minutes=25 + 12 * i)  # every exit before now
            events.append(
                make_event(rp.plate, EventType.EXIT, entry + stay, snapshot=rp.jpeg, vehicle=vehicle)
            )
    for i, rp in enumerate(plates[10:16]):
        entry = now - timedelta(days=1, hours=6 - i)
        events.append(make_event(rp.plate, EventType.ENTRY, entry, snapshot=rp.jpeg))
        events.append(
            make_event(rp.plate, EventType.EXIT, entry + timedelta(hours=1 + i * 0.5), snapshot=rp.jpeg)
        )
    for ev in events:
        server.ingest(ev)
    server.seeded = events
    return events


@pytest.fixture
def seeded(server: LiveServer, real_plates: list[RealPlate]) -> LiveServer:  # noqa: F811
    seed(server, real_plates, datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5))
    return server


# -- the browser -----------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found; scripts/browser.sh installs Debian's chromium and playwright")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing from .venv; run scripts/browser.sh")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class PageErrors:
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


def open_page(browser: Any, errors: PageErrors, viewport: dict[str, int] = DESKTOP) -> Any:
    """A fresh context (own sessionStorage); uncaught script errors and CSP violations are recorded."""
    context = browser.new_context(viewport=viewport, accept_downloads=True, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.errors.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            errors.errors.append(f"console: {msg.text}")
            if "Content Security Policy" in msg.text or "Refused to" in msg.text
            else None
        ),
    )
    return page


@pytest.fixture
def page(browser: Any, page_errors: PageErrors) -> Iterator[Any]:
    p = open_page(browser, page_errors)
    yield p
    p.context.close()
    assert page_errors.errors == [], page_errors.errors


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    """Screenshots a person can look at: tests/artifacts/web/<name>.png (ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page: Any, server: LiveServer, client: NewClient) -> None:
    page.goto(f"{server.base_url}/")
    page.fill("#signin-form [name=token]", client.token)
    page.fill("#signin-form [name=code]", pyotp.TOTP(client.totp_secret).now())
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#topbar:not([hidden])")

"""Webhooks end to end (MariaDB, Mosquitto, a real HTTP receiver on 127.0.0.1): an alert for a listed
plate read one character off goes out on `<prefix>/alerts` and to the owner's URL; while the receiver
refuses connections every attempt is recorded and retried, across a restart of the API, until it
comes up; the signature verifies with the secret shown at creation."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import queue
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import paho.mqtt.client as mqtt
import pyotp
import pytest

from anpr.bus import MqttBus
from anpr.messages import AlertKind, AlertMessage, Kind, decode, topic
from anpr.settings import CommonSettings, MqttSettings
from services.api.app import create_app
from services.api.runtime import Runtime
from services.api.settings import ApiSettings
from tests.api.conftest import KeyMaterial, event, make_settings
from tests.api.test_mqtt_ingest import _forget_session

pytestmark = pytest.mark.anyio
Received = tuple[dict[str, str], bytes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def receiver(port: int, status: int = 204) -> Iterator[queue.Queue[Received]]:
    """An HTTP endpoint that takes POSTs and answers `status`."""
    got: queue.Queue[Received] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.put((dict(self.headers), body))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


@asynccontextmanager
async def serving(settings: ApiSettings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    runtime = Runtime(settings)  # the real clock: retries are due in real time
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            yield http, runtime


async def _until(predicate, timeout_s: float, what: str):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := await predicate():
            return result
        await asyncio.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.mark.parametrize("db_url", ["mariadb"], indirect=True)
async def test_alert_reaches_a_webhook_that_was_down_across_a_restart(
    db_url: str, mqtt_env: dict[str, str], topic_prefix: str, key_material: KeyMaterial
) -> None:
    client_id = f"api-hooks-{uuid.uuid4().hex[:10]}"
    host, port = mqtt_env["MQTT_HOST"], int(mqtt_env["MQTT_PORT"])
    settings = make_settings(
        db_url,
        key_material,
        mqtt_ingest=True,
        mqtt=MqttSettings(client_id=client_id),
        common=CommonSettings(environment="development", topic_prefix=topic_prefix),
        webhook_allow_http=True,
        webhook_retry_base_s=0.2,
        webhook_retry_max_s=0.5,
    )
    alerts_seen: queue.Queue[AlertMessage] = queue.Queue()
    watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"watch-{client_id}")
    watcher.on_message = lambda _c, _u, msg: alerts_seen.put(decode(AlertMessage, msg.payload))
    watcher.connect(host, port)
    watcher.subscribe(topic(topic_prefix, Kind.ALERTS), qos=1)
    watcher.loop_start()
    hook_port = _free_port()  # nothing listens there yet: connections are refused
    try:
        async with serving(settings) as (http, runtime):
            admin = await runtime.client_admin().create("owner")
            login = {"token": admin.token, "code": pyotp.TOTP(admin.totp_secret).now()}
            token = (await http.post("/api/v1/auth/login", json=login)).json()["session_token"]
            auth = {"Authorization": f"Bearer {token}"}
            listed = await http.post(
                "/api/v1/lists", json={"kind": "watch", "plate": "ABC1234"}, headers=auth
            )
            assert listed.status_code == 201, listed.text
            created = await http.post(
                "/api/v1/webhooks", json={"url": f"http://127.0.0.1:{hook_port}/anpr"}, headers=auth
            )
            assert created.status_code == 201, created.text
            hook = created.json()
            assert "secret" not in (await http.get("/api/v1/webhooks", headers=auth)).json()[0]

            async def consumer_up() -> bool:
                return runtime.consumer is not None and runtime.consumer.connected

            await _until(consumer_up, 15, "the MQTT consumer")
            await asyncio.sleep(0.3)
            edge = MqttBus(MqttSettings(client_id=f"edge-{client_id}"), "edge-test", topic_prefix)
            edge.connect(timeout_s=10)
            sighting = event("ABC1Z84")  # two confusables and one misread: Z/2 merges, 3 read as 8
            assert edge.publish_and_wait(topic(topic_prefix, Kind.EVENTS), sighting, qos=1)
            edge.close()
            published = await asyncio.to_thread(alerts_seen.get, True, 15)
            assert (published.kind.value, published.list_kind, published.plate) == (
                "listed",
                "watch",
                "ABC1Z84",
            )
            assert published.event_id == sighting.event_id

            async def failed_twice() -> list[dict] | None:
                page = await http.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=auth)
                items = page.json()["items"]
                return items if items and len(items[0]["attempts"]) >= 2 else None

            down = (await _until(failed_twice, 15, "two refused attempts"))[0]
            assert down["state"] == "pending" and down["alert_id"] == str(published.alert_id)
            assert all(a["status_code"] is None and a["error"] == "ConnectError" for a in down["attempts"])

        # The API is stopped; the receiver comes up; the API starts again and delivers from its outbox.
        with receiver(hook_port) as got:
            async with serving(settings.model_copy(update={"mqtt_ingest": False})) as (_http, runtime):
                headers, body = await asyncio.to_thread(got.get, True, 20)

                async def delivered() -> list | None:
                    items, _ = await runtime.webhooks.deliveries(uuid.UUID(hook["id"]), 10, 0)
                    return items if items[0].state == "delivered" else None

                (delivery,) = await _until(delivered, 10, "the delivery to be recorded")
            assert got.empty()  # delivered once
        assert delivery.attempts[-1].status_code == 204 and delivery.attempts[-1].error is None
        assert len(delivery.attempts) >= 3

        stamp = headers["X-ANPR-Timestamp"]
        expected = hmac.new(hook["secret"].encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-ANPR-Signature"], f"sha256={expected}")
        assert abs(time.time() - int(stamp)) < 60
        tampered = body.replace(b"ABC1Z84", b"ABC1Z85")
        assert (
            hmac.new(hook["secret"].encode(), f"{stamp}.".encode() + tampered, hashlib.sha256).hexdigest()
            != expected
        )
        sent = decode(AlertMessage, body)
        assert sent == published and json.loads(body)["schema_version"] == 1
        assert headers["X-ANPR-Delivery"] == f"{published.alert_id}/{hook['id']}"
    finally:
        watcher.loop_stop()
        watcher.disconnect()
        _forget_session(host, port, client_id)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_webhook_urls_are_checked_and_secrets_shown_once(api) -> None:  # noqa: ANN001
    headers = await api.session(await api.new_client())
    for url, why in (
        ("http://192.0.2.1/hook", "must start with https://"),
        ("ftp://example.org/hook", "must start with https://"),
        ("https://user:pw@example.org/hook", "no credentials"),
    ):
        resp = await api.http.post("/api/v1/webhooks", json={"url": url}, headers=headers)
        assert resp.status_code == 422 and why in resp.json()["detail"][0]["msg"], resp.text
    made = await api.http.post("/api/v1/webhooks", json={"url": "https://example.org/hook"}, headers=headers)
    assert made.status_code == 201 and len(made.json()["secret"]) >= 40
    listed = (await api.http.get("/api/v1/webhooks", headers=headers)).json()
    assert [h["url"] for h in listed] == ["https://example.org/hook"] and "secret" not in listed[0]
    hook_id = made.json()["id"]
    assert (await api.http.delete(f"/api/v1/webhooks/{hook_id}", headers=headers)).status_code == 204
    assert (await api.http.get(f"/api/v1/webhooks/{hook_id}/deliveries", headers=headers)).status_code == 404


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_receiver_that_keeps_failing_gets_backed_off_then_given_up(
    db_url: str, key_material: KeyMaterial
) -> None:
    settings = make_settings(
        db_url,
        key_material,
        webhook_allow_http=True,
        webhook_retry_base_s=0.2,
        webhook_retry_max_s=0.3,
        webhook_max_attempts=3,
    )
    port = _free_port()
    with receiver(port, status=500) as got:
        async with serving(settings) as (_http, runtime):
            hook = await runtime.webhooks.create(f"http://127.0.0.1:{port}/", "owner")
            await runtime.alerts.raise_alert(AlertKind.OVERSTAY, "ABC1234", "visit-1", detail="test")

            async def given_up() -> list | None:
                items, _ = await runtime.webhooks.deliveries(hook.id, 10, 0)
                return items if items[0].state == "failed" else None

            (delivery,) = await _until(given_up, 10, "the delivery to be given up")
            assert [(a.status_code, a.error) for a in delivery.attempts] == [(500, "HTTP 500")] * 3
            gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(delivery.attempts)]
            assert 0.2 <= gaps[0] < gaps[1] + 0.05 and gaps[1] >= 0.3  # 0.2 s, then doubled up to the cap
            assert (await runtime.webhooks.all())[0].failed == 1
        assert got.qsize() == 3

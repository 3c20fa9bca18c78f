"""The deployed topology as local processes: the edge broker with the deployment's own config, ACL and
password file (deploy/init.py edge), the four edge services and the records API (secrets from
deploy/init.py pi, database on the running MariaDB), each service logged in as its own MQTT user and
started in compose's order (healthchecks first). The gate video runs through, and the events are found
through the API's real login (token + TOTP), as a client of the records service sees them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pymysql
import pyotp
import pytest

from services.aggregator.settings import AggregatorSettings
from services.capture.settings import CaptureSettings
from services.detector.settings import DetectorSettings
from services.ocr.settings import OcrSettings
from tests.pipeline.gate_data import GATE_START, Expected, expected_gate_events

REPO = Path(__file__).resolve().parents[2]
INIT = REPO / "deploy" / "init.py"
START = GATE_START
TOLERANCE_S = 0.5
OWN_PREFIXES = ("ANPR_", "MQTT_", "CAPTURE_", "DETECTOR_", "OCR_", "AGGREGATOR_", "API_", "PIPELINE_")


def setting(cls: type, name: str, prefix: str) -> str:
    """The variable name of a settings field, failing loudly if a service renamed it."""
    assert name in cls.model_fields, f"{cls.__name__} has no field {name!r} any more; update this test"
    return f"{prefix}{name.upper()}"


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_PREFIXES)}
    return env | {
        "ANPR_ENV_FILE": str(tmp / "no.env"),
        "ANPR_ENVIRONMENT": "production",  # the deployment's mode: unsafe settings would be refused
        "ANPR_TIMEZONE": "America/Chicago",
        "PYTHONUNBUFFERED": "1",
    }


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - the child process owns it
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]

    def assert_alive(self) -> None:
        for name, p in self.procs.items():
            assert p.poll() is None, f"{name} exited with {p.returncode}:\n{self.log(name)}"

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)


def wait_healthy(service: str, env: dict[str, str], procs: Processes, timeout_s: float) -> None:
    """Compose's `depends_on: service_healthy`, with the container's own healthcheck."""
    deadline = time.monotonic() + timeout_s
    while True:
        procs.assert_alive()
        check = subprocess.run(
            [sys.executable, str(REPO / "docker" / "healthcheck.py"), service],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check.returncode == 0:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{service} never became healthy ({check.stdout.strip()}):\n{procs.log(service)}")
        time.sleep(1)


@pytest.fixture(scope="module")
def database(mariadb_url: str) -> Iterator[str]:
    from sqlalchemy.engine import make_url

    url = make_url(mariadb_url)
    name = f"anpr_topology_{uuid.uuid4().hex[:10]}"
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_pi_secrets(broker) -> Path:
    proc = subprocess.run(
        [
            sys.executable,
            str(INIT),
            "--dir",
            str(broker.secrets),
            "pi",
            "--keys-with",
            "local",
            "--mqtt-password-file",
            str(broker.secrets / "edge" / "mqtt_api_password"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return broker.secrets / "pi"


def create_client(env: dict[str, str]) -> tuple[str, pyotp.TOTP]:
    """`python -m services.api clients create`, as docs/deployment.md tells the operator to run it."""
    proc = subprocess.run(
        [sys.executable, "-m", "services.api", "clients", "create", "operator", "--no-qr"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    token = re.search(r"API token[^\n]*\n\s+(\S+)", proc.stdout)
    uri = re.search(r"(otpauth://\S+)", proc.stdout)
    assert token and uri, proc.stdout
    return token.group(1), pyotp.parse_uri(uri.group(1))


class EventObserver:
    """Reads `events` on the edge broker as the api user may (another client id), to know what the
    aggregator published independently of what the API stored."""

    def __init__(self, port: int, user: str, password: str, events_topic: str) -> None:
        self._events: dict[str, tuple[str, str, float]] = {}
        self._lock = threading.Lock()
        self.last_at = time.monotonic()
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="topology-observer")
        self.client.username_pw_set(user, password)
        self.client.on_connect = lambda c, *_: c.subscribe(events_topic, qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "observer could not subscribe to events"

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            e = json.loads(msg.payload)
            self._events[e["event_id"]] = (
                e["type"],
                e["plate"],
                datetime.fromisoformat(e["time"]).timestamp(),
            )
            self.last_at = time.monotonic()

    def events(self) -> dict[str, tuple[str, str, float]]:
        """event_id -> (type, plate, capture time as a timestamp)"""
        with self._lock:
            return dict(self._events)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def matches(event: dict, x: Expected) -> bool:
    t = datetime.fromisoformat(event["time"]).timestamp()
    return (
        event["plate"] == x.plate
        and event["type"] == x.event
        and x.first.timestamp() - TOLERANCE_S <= t <= x.last.timestamp() + TOLERANCE_S
    )


@dataclass
class TopologyRun:
    events: list[dict]  # as the API lists them to a logged-in client
    published: dict[str, tuple[str, str, float]]  # what the aggregator published on the broker
    unauthenticated_status: int
    expected: list[Expected]
    aggregator_log: str


@pytest.fixture(scope="module")
def topology_run(
    make_broker, database: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> TopologyRun:
    tmp_path = tmp_path_factory.mktemp("topology")
    edge_broker = make_broker("anpr/v1")  # the deployment's default prefix
    models = data_dir / "models"
    expected = expected_gate_events(data_dir, START)
    pi = make_pi_secrets(edge_broker)
    common = base_env(tmp_path)
    api_port = free_port()
    api_env = (
        common
        | edge_broker.env("api")
        | {
            # what init.py pi copied from the edge's secrets
            "MQTT_PASSWORD": (pi / "mqtt_password").read_text().strip(),
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
    edge = {
        "aggregator": {
            setting(AggregatorSettings, "state_file", "AGGREGATOR_"): str(tmp_path / "state.json"),
            "MQTT_CLIENT_ID": "anpr-aggregator",
        },
        "ocr": {
            setting(OcrSettings, "engine", "OCR_"): "onnx",  # OpenALPR is the image's; not installed here
            setting(OcrSettings, "localiser_model", "OCR_"): str(
                models / "plates" / "openalpr_us" / "us.xml"
            ),
            setting(OcrSettings, "reader_model", "OCR_"): str(
                models / "peers" / "fast_plate_ocr" / "cct_xs_v1_global.onnx"
            ),
        },
        "detector": {
            setting(DetectorSettings, "model", "DETECTOR_"): str(models / "fallback" / "yolo11n_int8.tflite"),
            setting(DetectorSettings, "device", "DETECTOR_"): "cpu",
        },
    }
    capture_env = (
        common
        | edge_broker.env("capture")
        | {
            setting(CaptureSettings, "source", "CAPTURE_"): str(data_dir / "videos" / "us_gate_sequence.mp4"),
            setting(CaptureSettings, "max_fps", "CAPTURE_"): "5",
            setting(CaptureSettings, "pace", "CAPTURE_"): "fast",
            setting(CaptureSettings, "start_time", "CAPTURE_"): START.isoformat(),
        }
    )
    procs = Processes(tmp_path)
    base = f"http://127.0.0.1:{api_port}"
    observer = EventObserver(edge_broker.port, "api", edge_broker.passwords["api"], "anpr/v1/events")
    try:
        procs.start("api", ["services.api", "serve"], api_env)
        with httpx.Client(base_url=base, timeout=10) as http:
            deadline = time.monotonic() + 120
            while True:
                procs.assert_alive()
                try:
                    ready = http.get("/readyz")
                    if ready.status_code == 200 and ready.json()["mqtt"] == "connected":
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"api not ready:\n{procs.log('api')}"
                time.sleep(0.5)
        token, totp = create_client(api_env)

        for name in ("aggregator", "ocr", "detector"):  # compose: capture depends on all three healthy
            env = common | edge_broker.env(name) | edge[name]
            procs.start(name, [f"services.{name}"], env)
        for name in ("aggregator", "ocr", "detector"):
            wait_healthy(name, common | edge_broker.env(name), procs, timeout_s=180)

        capture = subprocess.run(
            [sys.executable, "-m", "services.capture"],
            cwd=REPO,
            env=capture_env,
            capture_output=True,
            text=True,
            timeout=1500,
        )
        assert capture.returncode == 0, capture.stderr[-4000:]

        with httpx.Client(base_url=base, timeout=30) as http:
            login = http.post("/api/v1/auth/login", json={"token": token, "code": totp.now()})
            assert login.status_code == 200, login.text
            http.headers["Authorization"] = f"Bearer {login.json()['session_token']}"
            assert http.get("/api/v1/events").status_code == 200
            # The aggregator closes the last sightings at the end of the stream; wait until the API holds
            # every event published on the bus and no new one came for a few seconds.
            deadline = time.monotonic() + 90
            while True:
                page = http.get("/api/v1/events", params={"limit": 200})
                assert page.status_code == 200, page.text
                events = page.json()["items"]
                published = observer.events()
                settled = time.monotonic() - observer.last_at > 5
                if (
                    settled and set(published) <= {e["event_id"] for e in events}
                ) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            without_session = httpx.get(f"{base}/api/v1/events", timeout=10)
        procs.assert_alive()
    finally:
        procs.stop()
        observer.close()

    return TopologyRun(events, published, without_session.status_code, expected, procs.log("aggregator"))


@pytest.mark.slow
def test_every_published_event_reaches_the_api_through_its_login(topology_run: TopologyRun) -> None:
    assert topology_run.unauthenticated_status == 401
    assert topology_run.published, "the aggregator published no event"
    # Every event the aggregator published is in the API, once, decrypted as published; nothing else is.
    stored = {
        e["event_id"]: (e["type"], e["plate"], datetime.fromisoformat(e["time"]).timestamp())
        for e in topology_run.events
    }
    assert len(stored) == len(topology_run.events)
    assert stored == topology_run.published


@pytest.mark.slow
def test_the_api_holds_the_footages_events(topology_run: TopologyRun) -> None:
    expected, events = topology_run.expected, topology_run.events
    found = [x for x in expected if any(matches(e, x) for e in events)]
    extra = [e for e in events if not any(matches(e, x) for x in expected)]
    summary = (
        f"{len(found)}/{len(expected)} expected events in the API, {len(extra)} extra: "
        f"{[(e['type'], e['plate'], e['time']) for e in extra]}; "
        f"missed {[(x.event, x.plate) for x in expected if x not in found]}"
    )
    print("\n" + summary)
    # The bar of the in-process run of the same footage (tests/pipeline): distribution must not lose any.
    assert len(found) >= len(expected) - 1, summary + "\n" + topology_run.aggregator_log
    assert len(extra) <= 1, summary

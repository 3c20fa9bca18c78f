"""A private Mosquitto started the way docker-compose.jetson.yml starts it: the password file made by
deploy/init.py, docker/mosquitto/entrypoint.sh copying it and rendering the ACL template, and the
deployment's own mosquitto.conf.

Rendering the config only swaps what differs outside the container: file paths, the listener's port
(bound to loopback), and, when the tests run as root, `user root` (mosquitto would otherwise drop to
its own user, which cannot read the test's files). Each replacement must find its line, so a change
to the config that the tests no longer follow fails loudly instead of testing something else.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

REPO = Path(__file__).resolve().parents[2]
MOSQUITTO_DIR = REPO / "docker" / "mosquitto"
INIT = REPO / "deploy" / "init.py"
MQTT_USERS = ("capture", "detector", "ocr", "aggregator", "api", "healthcheck")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_config(text: str, *, port: int, auth: Path, data: Path) -> str:
    swaps = {
        "password_file /mosquitto/auth/passwd": f"password_file {auth / 'passwd'}",
        "acl_file /mosquitto/auth/acl": f"acl_file {auth / 'acl'}",
        "persistence_location /mosquitto/data/": f"persistence_location {data}/",
        "listener 1883": f"listener {port} 127.0.0.1",
        "include_dir /mosquitto/config/conf.d": f"include_dir {MOSQUITTO_DIR / 'conf.d'}",
    }
    lines = text.splitlines()
    for old, new in swaps.items():
        assert lines.count(old) == 1, f"mosquitto.conf no longer has the line {old!r}; update tests/deploy"
        lines[lines.index(old)] = new
    if os.geteuid() == 0:
        lines.append("user root")
    return "\n".join(lines) + "\n"


def read_passwords(edge: Path) -> dict[str, str]:
    return {u: (edge / f"mqtt_{u}_password").read_text().strip() for u in MQTT_USERS}


@dataclass
class Broker:
    port: int
    prefix: str
    passwords: dict[str, str]
    log: Path
    secrets: Path
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    argv: list[str] = field(default_factory=list, repr=False)
    launch_env: dict[str, str] = field(default_factory=dict, repr=False)

    def env(self, user: str) -> dict[str, str]:
        """What compose gives a service: its own user, its own password (here by variable, not file)."""
        return {
            "MQTT_HOST": self.host,
            "MQTT_PORT": str(self.port),
            "MQTT_USERNAME": user,
            "MQTT_PASSWORD": self.passwords[user],
            "ANPR_TOPIC_PREFIX": self.prefix,
        }

    def topic(self, rest: str) -> str:
        return f"{self.prefix}/{rest}"


def make_edge_secrets(root: Path) -> Path:
    """deploy/init.py edge, as a user runs it (its mosquitto_passwd hashes the passwords)."""
    proc = subprocess.run(
        [sys.executable, str(INIT), "--dir", str(root), "edge"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root / "edge"


def start_broker(workdir: Path, prefix: str) -> Broker:
    """deploy/init.py edge makes the secrets; docker/mosquitto/entrypoint.sh (the container's own
    entrypoint, with its paths pointed here) copies the password file, renders the ACL and starts
    mosquitto on the rendered config."""
    if shutil.which("mosquitto") is None:
        pytest.fail(
            "the mosquitto binary is needed (apt-get install mosquitto; scripts/servers.sh installs it)"
        )
    edge = make_edge_secrets(workdir / "secrets")
    auth, data = workdir / "auth", workdir / "data"
    data.mkdir()
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        render_config((MOSQUITTO_DIR / "mosquitto.conf").read_text(), port=port, auth=auth, data=data)
    )
    env = os.environ | {
        "ANPR_TOPIC_PREFIX": prefix,
        "MOSQ_PASSWD_SECRET": str(edge / "mosquitto_passwd"),
        "MOSQ_CONFIG_DIR": str(MOSQUITTO_DIR),
        "MOSQ_CERTS_DIR": str(workdir / "no-certs"),
        "MOSQ_DATA_DIR": str(data),
        "MOSQ_AUTH_DIR": str(auth),
        "MOSQ_OWNER": f"{os.geteuid()}:{os.getegid()}",
        "MOSQ_NEXT": "mosquitto",
    }
    broker = Broker(
        port=port,
        prefix=prefix,
        passwords=read_passwords(edge),
        log=workdir / "mosquitto.log",
        secrets=edge.parent,
        argv=["sh", str(MOSQUITTO_DIR / "entrypoint.sh"), "-c", str(conf)],
        launch_env=env,
    )
    launch(broker)
    acl = (auth / "acl").read_text()
    assert "@PREFIX@" not in acl and f"topic write {prefix}/events" in acl, acl
    return broker


def launch(broker: Broker) -> None:
    """Start (or start again, on the same port and data directory) the broker's process; return once
    it listens."""
    with open(broker.log, "ab") as out:
        proc = subprocess.Popen(broker.argv, env=broker.launch_env, stdout=out, stderr=subprocess.STDOUT)
    broker.proc = proc
    deadline = time.monotonic() + 10
    while True:
        if proc.poll() is not None:
            pytest.fail(
                f"mosquitto exited ({proc.returncode}) with the deployment config:\n{broker.log.read_text()}"
            )
        try:
            socket.create_connection(("127.0.0.1", broker.port), timeout=1).close()
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"mosquitto did not listen on {broker.port}:\n{broker.log.read_text()}")
            time.sleep(0.1)
            continue
        return


def stop_broker(broker: Broker) -> None:
    if broker.proc is not None and broker.proc.poll() is None:
        broker.proc.terminate()
        try:
            broker.proc.wait(10)
        except subprocess.TimeoutExpired:
            broker.proc.kill()
            broker.proc.wait(5)


@pytest.fixture(scope="module")
def make_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """make_broker(prefix) -> Broker: a broker of this module's own, stopped after it."""
    started: list[Broker] = []

    def _make(prefix: str) -> Broker:
        broker = start_broker(tmp_path_factory.mktemp("broker"), prefix)
        started.append(broker)
        return broker

    yield _make
    for broker in started:
        stop_broker(broker)


@pytest.fixture(scope="session")
def deploy_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """One private broker for the ACL tests, with a prefix of its own."""
    broker = start_broker(tmp_path_factory.mktemp("broker"), f"deploytest-{uuid.uuid4().hex[:8]}/anpr/v1")
    yield broker
    stop_broker(broker)


class Client:
    """A paho client logged in as one user, collecting what it receives."""

    def __init__(self, broker: Broker, user: str | None, password: str | None = None) -> None:
        self.user = user
        self.messages: list[mqtt.MQTTMessage] = []
        self._arrived = threading.Condition()
        self._connected = threading.Event()
        self.reason: mqtt.ReasonCode | None = None
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"t-{user}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv311,
        )
        if user is not None:
            self.client.username_pw_set(user, password if password is not None else broker.passwords[user])
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        assert self._connected.wait(5), "no CONNACK within 5 s"

    def _on_connect(
        self, _c: mqtt.Client, _u: object, _f: object, reason: mqtt.ReasonCode, _p: object
    ) -> None:
        self.reason = reason
        self._connected.set()

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._arrived:
            self.messages.append(msg)
            self._arrived.notify_all()

    @property
    def accepted(self) -> bool:
        return self.reason is not None and not self.reason.is_failure

    def subscribe(self, topic_filter: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_a: done.set()
        self.client.subscribe(topic_filter, qos=1)
        assert done.wait(5), f"no SUBACK for {topic_filter}"

    def publish(self, topic_name: str, payload: bytes = b"{}", retain: bool = False) -> None:
        """Returns once the broker acknowledged (PUBACK): it has routed, or dropped, the message."""
        info = self.client.publish(topic_name, payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        assert info.is_published(), f"no PUBACK for {topic_name}"

    def wait_for(self, topic_name: str, timeout_s: float = 5.0) -> mqtt.MQTTMessage:
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while True:
                for m in self.messages:
                    if m.topic == topic_name:
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self.user} received nothing on {topic_name}")
                self._arrived.wait(left)

    def topics(self) -> list[str]:
        with self._arrived:
            return [m.topic for m in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def login(deploy_broker: Broker) -> Iterator:
    """login(user, password=None) -> Client; every client is closed after the test."""
    clients: list[Client] = []

    def _login(user: str | None, password: str | None = None) -> Client:
        c = Client(deploy_broker, user, password)
        clients.append(c)
        return c

    yield _login
    for c in clients:
        c.close()

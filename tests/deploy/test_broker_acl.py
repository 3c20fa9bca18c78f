"""The edge broker as deployed: no anonymous access, and each service's user may publish and subscribe
only where its job needs it (docker/mosquitto/acl.template)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from anpr.bus import MqttBus
from anpr.settings import MqttSettings

REPO = Path(__file__).resolve().parents[2]

# (publisher, topic under the prefix, a user that legitimately reads it, a user that legitimately writes it)
FORBIDDEN_PUBLISH = [
    ("detector", "events", "api", "aggregator"),
    ("ocr", "events", "api", "aggregator"),
    ("capture", "events", "api", "aggregator"),
    ("api", "events", "api", "aggregator"),
    ("detector", "reads/gate", "aggregator", "ocr"),
    ("aggregator", "frames/gate", "detector", "capture"),
    ("api", "frames/gate", "detector", "capture"),
    ("capture", "vehicles/gate", "ocr", "detector"),
    ("detector", "status/aggregator", "aggregator", "aggregator"),
    ("aggregator", "acks", "aggregator", "api"),  # only the records service says an event is stored
    ("ocr", "acks", "aggregator", "api"),
    ("aggregator", "status/api", "aggregator", "api"),
]

# (reader, topic filter it must not get, topic under the prefix that someone publishes there, who publishes)
FORBIDDEN_READ = [
    ("api", "frames/+", "frames/gate", "capture"),
    ("api", "reads/+", "reads/gate", "ocr"),
    ("detector", "events", "events", "aggregator"),
    ("capture", "vehicles/+", "vehicles/gate", "detector"),
    ("ocr", "status/+", "status/aggregator", "aggregator"),
    ("capture", "acks", "acks", "api"),
]


def test_anonymous_clients_are_refused(login) -> None:
    assert not login(None).accepted


def test_a_wrong_password_is_refused(login) -> None:
    assert not login("aggregator", "not-the-password").accepted


def test_another_services_password_is_refused(deploy_broker, login) -> None:
    assert not login("aggregator", deploy_broker.passwords["detector"]).accepted


@pytest.mark.parametrize("user", ["capture", "detector", "ocr", "aggregator", "api", "healthcheck"])
def test_every_service_logs_in_with_its_own_password(login, user: str) -> None:
    assert login(user).accepted


def test_the_pipeline_flows_through_the_acl(deploy_broker, login) -> None:
    t = deploy_broker.topic
    capture, detector, ocr, aggregator, api = (
        login(u) for u in ("capture", "detector", "ocr", "aggregator", "api")
    )
    detector.subscribe(t("frames/+"))
    ocr.subscribe(t("vehicles/+"))
    aggregator.subscribe(t("reads/+"))
    capture.subscribe(t("reads/flow"))  # its back-pressure acknowledgements
    api.subscribe(t("events"))
    capture.publish(t("frames/flow"))
    detector.wait_for(t("frames/flow"))
    detector.publish(t("vehicles/flow"))
    ocr.wait_for(t("vehicles/flow"))
    ocr.publish(t("reads/flow"))
    aggregator.wait_for(t("reads/flow"))
    capture.wait_for(t("reads/flow"))
    aggregator.subscribe(t("acks"))
    aggregator.subscribe(t("status/api"))
    aggregator.publish(t("events"))
    api.wait_for(t("events"))
    api.publish(t("acks"))  # the records service's acknowledgement back to the aggregator's outbox
    aggregator.wait_for(t("acks"))
    api.publish(t("status/api"))
    aggregator.wait_for(t("status/api"))


@pytest.mark.parametrize(("intruder", "where", "reader", "writer"), FORBIDDEN_PUBLISH)
def test_a_service_cannot_publish_where_another_service_writes(
    deploy_broker, login, intruder: str, where: str, reader: str, writer: str
) -> None:
    t = deploy_broker.topic
    subscriber = login(reader)
    subscriber.subscribe(t(where))
    login(intruder).publish(t(where), b"forged")
    # Acknowledged by the broker before the genuine message is even sent: had it been routed, it
    # would arrive first.
    login(writer).publish(t(where), b"genuine")
    subscriber.wait_for(t(where))
    assert [m.payload for m in subscriber.messages] == [b"genuine"]


@pytest.mark.parametrize(("intruder", "topic_filter", "where", "writer"), FORBIDDEN_READ)
def test_a_service_cannot_read_what_is_not_for_it(
    deploy_broker, login, intruder: str, topic_filter: str, where: str, writer: str
) -> None:
    t = deploy_broker.topic
    reader = login(intruder)
    reader.subscribe(t(topic_filter))
    own = f"status/{intruder}"
    reader.subscribe(t(own))  # a topic it may read, as the marker
    login(writer).publish(t(where), b"not for you")
    reader.client.publish(t(own), b"marker", qos=1).wait_for_publish(5)
    reader.wait_for(t(own))
    assert t(where) not in reader.topics()


def test_no_service_can_subscribe_to_everything(deploy_broker, login) -> None:
    t = deploy_broker.topic
    ocr = login("ocr")
    ocr.subscribe(t("#"))
    login("aggregator").publish(t("events"))
    login("capture").publish(t("frames/wide"))
    login("detector").publish(t("vehicles/wide"))
    ocr.wait_for(t("vehicles/wide"))
    assert ocr.topics() == [t("vehicles/wide")]


def test_the_broker_healthcheck_command_works_for_its_user_only(deploy_broker) -> None:
    """The compose healthcheck: mosquitto_sub as `healthcheck` gets the retained $SYS uptime."""

    def probe(user: str) -> int:
        cmd = [
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(deploy_broker.port),
            "-u",
            user,
            "-P",
            deploy_broker.passwords[user],
            "-t",
            "$SYS/broker/uptime",
            "-C",
            "1",
            "-W",
            "5",
        ]
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode

    assert probe("healthcheck") == 0
    assert probe("detector") != 0  # not granted $SYS: times out with nothing


def _healthcheck(deploy_broker, service: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | deploy_broker.env(service) | {"ANPR_ENV_FILE": "/nonexistent/.env"}
    return subprocess.run(
        [sys.executable, str(REPO / "docker" / "healthcheck.py"), service],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_service_healthcheck_follows_the_retained_status(deploy_broker) -> None:
    """docker/healthcheck.py: healthy while the service's bus is connected, unhealthy once it left."""
    service = "aggregator"
    before = _healthcheck(deploy_broker, service)
    env = deploy_broker.env(service)
    settings = MqttSettings(
        host=env["MQTT_HOST"], port=int(env["MQTT_PORT"]), username=service, password=env["MQTT_PASSWORD"]
    )
    bus = MqttBus(settings, service, deploy_broker.prefix)
    bus.connect()
    try:
        online = _healthcheck(deploy_broker, service)
    finally:
        bus.close("stopped by the test")
    offline = _healthcheck(deploy_broker, service)
    assert before.returncode == 1 and "no status" in before.stdout, before.stdout + before.stderr
    assert online.returncode == 0, online.stdout + online.stderr
    assert "aggregator is online" in online.stdout
    assert offline.returncode == 1 and "offline" in offline.stdout, offline.stdout + offline.stderr


def test_service_healthcheck_with_another_services_password_is_unhealthy(deploy_broker) -> None:
    env = (
        os.environ
        | deploy_broker.env("ocr")
        | {"MQTT_PASSWORD": deploy_broker.passwords["api"], "ANPR_ENV_FILE": "/nonexistent/.env"}
    )
    proc = subprocess.run(
        [sys.executable, str(REPO / "docker" / "healthcheck.py"), "ocr"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert "refused" in proc.stdout

"""`python -m services.aggregator` as a real process against the running Mosquitto: reads in,
events out, bad payloads dropped, an event left over from a crash re-published with its UUID."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

from anpr.messages import (
    AckMessage,
    AckOutcome,
    EventMessage,
    EventType,
    Kind,
    ReadsMessage,
    ServiceState,
    StatusMessage,
    encode,
    topic,
)
from services.aggregator.outbox import Outbox
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from tests.aggregator.helpers import Feed, at, plate_read

REPO = Path(__file__).resolve().parents[2]


class Listener:
    """A plain MQTT client that records what arrives on the topics it is given."""

    def __init__(self, broker: tuple[str, int], *topics: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _c, _u, m: self.messages.put((m.topic, m.payload))
        self.client.connect(*broker)
        self.client.loop_start()
        for t in topics:
            self.client.subscribe(t, qos=1)

    def publish(self, topic_name: str, payload: bytes) -> None:
        self.client.publish(topic_name, payload, qos=1).wait_for_publish(timeout=10)

    def next_on(self, topic_name: str, timeout_s: float = 15.0) -> bytes:
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                got_topic, payload = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if got_topic == topic_name:
                return payload
        raise AssertionError(f"nothing on {topic_name} within {timeout_s}s")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _drop_persistent_session(broker: tuple[str, int], client_id: str) -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect(*broker)
    client.disconnect()


def tear_down(proc: subprocess.Popen, listener: Listener, broker: tuple[str, int], client_id: str) -> None:
    """Whatever a test left running: the process, the listener, the service's persistent session."""
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=5)
    listener.close()
    _drop_persistent_session(broker, client_id)


def test_the_service_publishes_events_and_survives_bad_payloads(
    mqtt_env: dict[str, str], mqtt_broker: tuple[str, int], topic_prefix: str, tmp_path: Path
) -> None:
    state_file = tmp_path / "aggregator.json"
    # A previous run: OLD1234 came in, and its entry event was never confirmed by the broker.
    previous = Feed(Aggregator(AggregatorSettings(state_file=state_file)), "gate")
    previous.frame(0.0, "OLD1234")
    [leftover] = previous.end(1.0)

    client_id = f"aggregator-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, **mqtt_env, "AGGREGATOR_STATE_FILE": str(state_file), "MQTT_CLIENT_ID": client_id}
    events_topic, reads_topic = topic(topic_prefix, Kind.EVENTS), topic(topic_prefix, Kind.READS, "gate")
    acks_topic = topic(topic_prefix, Kind.ACKS)
    status_topic = topic(topic_prefix, Kind.STATUS, "aggregator")
    listener = Listener(mqtt_broker, events_topic, status_topic)
    log_path = tmp_path / "aggregator.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.aggregator"], cwd=REPO, env=env, stdout=log_file, stderr=log_file
        )
    try:
        status = StatusMessage.model_validate_json(listener.next_on(status_topic, timeout_s=30))
        assert status.state is ServiceState.ONLINE

        valid = ReadsMessage(camera="gate", seq=0, captured_at=at(100), reads=(plate_read("ABC1234", 100),))
        listener.publish(reads_topic, b"this is not json")
        listener.publish(reads_topic, encode(valid)[: len(encode(valid)) // 2])  # truncated
        listener.publish(reads_topic, encode(leftover))  # valid JSON, wrong message kind
        snapshot = b"\xff\xd8 a small jpeg \xff\xd9"
        frames = [
            ReadsMessage(camera="gate", seq=1, captured_at=at(100), reads=(plate_read("ABC1234", 100, 0.7),)),
            ReadsMessage(
                camera="gate",
                seq=2,
                captured_at=at(101),
                reads=(plate_read("ABC1234", 101, 0.95, snapshot=snapshot),),
            ),
            ReadsMessage(camera="gate", seq=3, captured_at=at(102), reads=(plate_read("ABC1284", 102, 0.6),)),
            ReadsMessage(camera="gate", seq=4, captured_at=at(140)),  # closes ABC1234: entry
            ReadsMessage(camera="gate", seq=5, captured_at=at(200), reads=(plate_read("OLD1284", 200, 0.8),)),
            ReadsMessage(camera="gate", seq=6, captured_at=at(201), end_of_stream=True),  # OLD1234 leaves
        ]
        for frame in frames:
            listener.publish(reads_topic, encode(frame))

        seen: dict[uuid.UUID, EventMessage] = {}
        while len(seen) < 3:
            event = EventMessage.model_validate_json(listener.next_on(events_topic))
            seen.setdefault(event.event_id, event)  # the leftover may come twice: same UUID, harmless
        leftover_again, entry, exit_ = seen.values()
        assert leftover_again == leftover
        assert (entry.type, entry.plate, entry.read_count) == (EventType.ENTRY, "ABC1234", 3)
        assert entry.confidence == 0.95
        assert entry.snapshot_jpeg == snapshot and entry.time == at(101)
        assert (exit_.type, exit_.plate, exit_.time) == (EventType.EXIT, "OLD1234", at(200))

        # Published is not stored: the events wait in the outbox until the records service acknowledges.
        outbox = Outbox(AggregatorSettings(state_file=state_file).outbox_path)
        assert outbox.count() == 3
        for event_id in seen:
            listener.publish(acks_topic, encode(AckMessage(event_id=event_id, outcome=AckOutcome.STORED)))
        deadline = time.monotonic() + 15
        while outbox.count() and time.monotonic() < deadline:
            time.sleep(0.1)

        assert proc.poll() is None, "the aggregator died"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        tear_down(proc, listener, mqtt_broker, client_id)

    log = log_path.read_text()
    assert log.count(f"dropped a malformed message on {reads_topic}") == 3, log
    after = Aggregator(AggregatorSettings(state_file=state_file))
    assert list(after.inside) == ["ABC1234"]
    assert after.pending() == []  # every event was acknowledged


def test_check_config_validates_and_exits(mqtt_env: dict[str, str], tmp_path: Path) -> None:
    env = {**os.environ, **mqtt_env, "AGGREGATOR_WINDOW_S": "-1"}
    bad = subprocess.run(
        [sys.executable, "-m", "services.aggregator", "--check-config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "window_s" in bad.stderr
    env["AGGREGATOR_WINDOW_S"] = "12.5"
    good = subprocess.run(
        [sys.executable, "-m", "services.aggregator", "--check-config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0 and '"window_s": 12.5' in good.stdout

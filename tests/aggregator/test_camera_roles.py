"""Camera roles: an entry lane and an exit lane, each with its own camera, one lot (one set inside)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from anpr.messages import EventMessage, EventType, Kind, ReadsMessage, encode, topic
from services.aggregator.sightings import Aggregator
from tests.aggregator.helpers import Feed, at, plate_read
from tests.aggregator.test_service import REPO, Listener, tear_down

ROLES = "gate-in=entry,gate-out=exit"
ENTRY, EXIT = EventType.ENTRY, EventType.EXIT


@pytest.fixture
def lanes(make_settings) -> tuple[Feed, Feed]:
    aggregator = Aggregator(make_settings(camera_roles=ROLES))
    return Feed(aggregator, "gate-in"), Feed(aggregator, "gate-out")


def _events(*feeds: Feed) -> list[tuple[str, EventType, str, datetime]]:
    """(camera, type, plate, time) of every event the feeds got, in time order."""
    return sorted(((e.camera, e.type, e.plate, e.time) for f in feeds for e in f.events), key=lambda e: e[3])


def test_entry_and_exit_cameras_make_entries_and_exits(lanes: tuple[Feed, Feed]) -> None:
    gate_in, gate_out = lanes
    gate_in.frame(0.0, "ABC1234")
    gate_in.frame(1.0, "ABC1284")  # a misread in the same sighting
    gate_in.frame(40.0)
    gate_out.frame(300.0, "A8C1234")  # confusables: the car inside
    gate_out.frame(340.0)
    assert [(c, t, p) for c, t, p, _ in _events(gate_in, gate_out)] == [
        ("gate-in", ENTRY, "ABC1234"),
        ("gate-out", EXIT, "ABC1234"),  # the plate recorded at entry, so they pair up
    ]
    assert gate_in.aggregator.inside == {}


def test_an_exit_camera_never_makes_an_entry(lanes: tuple[Feed, Feed]) -> None:
    _, gate_out = lanes
    gate_out.frame(0.0, "XYZ9876")  # never seen entering: still an exit (no entry)
    gate_out.frame(40.0)
    gate_out.frame(100.0, "XYZ9876")  # seen leaving again
    gate_out.frame(140.0)
    assert [(e.type, e.plate) for e in gate_out.events] == [(EXIT, "XYZ9876"), (EXIT, "XYZ9876")]
    assert gate_out.aggregator.inside == {}


def test_an_entry_camera_enters_a_plate_already_inside_again(lanes: tuple[Feed, Feed]) -> None:
    gate_in, _ = lanes
    gate_in.frame(0.0, "ABC1234")
    gate_in.frame(40.0)
    gate_in.frame(600.0, "ABC1284")  # its exit was missed: a new entry, under the plate inside
    gate_in.end(641.0)
    assert [(e.type, e.plate) for e in gate_in.events] == [(ENTRY, "ABC1234"), (ENTRY, "ABC1234")]
    inside = gate_in.aggregator.inside
    assert list(inside) == ["ABC1234"] and inside["ABC1234"].event_id == gate_in.events[1].event_id


def test_the_30_second_rule_holds_per_camera(lanes: tuple[Feed, Feed]) -> None:
    gate_in, gate_out = lanes
    for t in (0.0, 10.0, 20.0, 29.0):  # a car waiting at the entry barrier: one sighting
        gate_in.frame(t, "ABC1234")
    gate_out.frame(5.0, "ABC1234")  # the same plate on the other lane meanwhile: its own sighting
    gate_out.frame(40.0)  # closes the exit lane's sighting only
    assert [(e.type, e.read_count) for e in gate_out.events] == [(EXIT, 1)] and not gate_in.events
    gate_in.frame(60.0)
    assert [(e.type, e.read_count) for e in gate_in.events] == [(ENTRY, 4)]
    assert list(gate_in.aggregator.inside) == ["ABC1234"]


def test_cameras_without_a_role_alternate(make_settings) -> None:
    aggregator = Aggregator(make_settings(camera_roles="gate-in=entry"))
    gate_in, side = Feed(aggregator, "gate-in"), Feed(aggregator, "side")
    gate_in.frame(0.0, "ABC1234")
    gate_in.frame(40.0)
    side.frame(100.0, "ABC1234")  # role both: the car inside leaves
    side.frame(140.0)
    side.frame(200.0, "ABC1234")  # and comes back
    side.frame(240.0)
    assert [(c, t) for c, t, _, _ in _events(gate_in, side)] == [
        ("gate-in", ENTRY),
        ("side", EXIT),
        ("side", ENTRY),
    ]


@pytest.mark.parametrize("bad", ["gate-in:entry", "gate-in=inside", "gate=entry,gate=exit", "=entry"])
def test_bad_roles_are_refused(make_settings, bad: str) -> None:
    with pytest.raises(ValidationError, match="camera_roles"):
        make_settings(camera_roles=bad)


def test_roles_over_mqtt(
    mqtt_env: dict[str, str], mqtt_broker: tuple[str, int], topic_prefix: str, tmp_path: Path
) -> None:
    client_id = f"aggregator-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **mqtt_env,
        "AGGREGATOR_STATE_FILE": str(tmp_path / "aggregator.json"),
        "AGGREGATOR_CAMERA_ROLES": ROLES,
        "MQTT_CLIENT_ID": client_id,
    }
    events_topic = topic(topic_prefix, Kind.EVENTS)
    status_topic = topic(topic_prefix, Kind.STATUS, "aggregator")
    listener = Listener(mqtt_broker, events_topic, status_topic)
    proc = subprocess.Popen([sys.executable, "-m", "services.aggregator"], cwd=REPO, env=env)
    try:
        listener.next_on(status_topic, timeout_s=30)
        frames = [
            ("gate-out", ReadsMessage(camera="gate-out", seq=0, captured_at=at(0), reads=(plate_read("OUT1111", 0),))),
            ("gate-out", ReadsMessage(camera="gate-out", seq=1, captured_at=at(40))),
            ("gate-in", ReadsMessage(camera="gate-in", seq=0, captured_at=at(50), reads=(plate_read("ABC1234", 50),))),
            ("gate-in", ReadsMessage(camera="gate-in", seq=1, captured_at=at(90))),
            ("gate-out", ReadsMessage(camera="gate-out", seq=2, captured_at=at(200), reads=(plate_read("ABC1234", 200),))),
            ("gate-out", ReadsMessage(camera="gate-out", seq=3, captured_at=at(240))),
        ]  # fmt: skip
        for camera, frame in frames:
            listener.publish(topic(topic_prefix, Kind.READS, camera), encode(frame))
        seen: dict[uuid.UUID, EventMessage] = {}
        while len(seen) < 3:
            event = EventMessage.model_validate_json(listener.next_on(events_topic))
            seen.setdefault(event.event_id, event)
        got = sorted((e.time, e.camera, e.type, e.plate) for e in seen.values())
        assert [g[1:] for g in got] == [
            ("gate-out", EXIT, "OUT1111"),
            ("gate-in", ENTRY, "ABC1234"),
            ("gate-out", EXIT, "ABC1234"),
        ]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        tear_down(proc, listener, mqtt_broker, client_id)

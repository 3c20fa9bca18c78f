"""The state file: who is inside, open sightings and unpublished events survive a restart; a broken
file is set aside, not silently lost."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from anpr.bus import MemoryBus
from anpr.messages import EventMessage, EventType, Kind, topic
from services.aggregator.sightings import Aggregator
from services.aggregator.wiring import publish_pending, wire
from tests.aggregator.helpers import Feed, plate_read


def _restart(aggregator: Aggregator) -> Aggregator:
    return Aggregator(aggregator.settings)


def test_who_is_inside_survives_a_restart(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    feed.end(1.0)
    again = Feed(_restart(feed.aggregator))
    assert list(again.aggregator.inside) == ["ABC1234"]
    again.frame(500.0, "ABC1284")
    assert [(e.type, e.plate) for e in again.end(501.0)] == [(EventType.EXIT, "ABC1234")]


def test_an_open_sighting_survives_a_restart(feed: Feed) -> None:
    feed.frame(0.0, plate_read("ABC1234", 0.0, 0.7, track=3, snapshot=b"first"))
    feed.frame(10.0, plate_read("ABC1234", 10.0, 0.95, snapshot=b"best"))
    again = Feed(_restart(feed.aggregator))
    again.seq = feed.seq
    assert again.frame(35.0, "ABC1234", confidence=0.5) == []  # 25 s after the last read: same sighting
    [event] = again.end(36.0)
    assert (event.type, event.read_count, event.confidence, event.snapshot_jpeg) == (
        EventType.ENTRY,
        3,
        0.95,
        b"best",
    )


def test_an_event_not_confirmed_is_published_again_with_the_same_uuid(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    [event] = feed.end(1.0)  # returned, but the process died before the broker confirmed it
    restarted = _restart(feed.aggregator)
    assert [e.event_id for e in restarted.pending()] == [event.event_id]

    bus, seen = MemoryBus(), []
    prefix = restarted.settings.common.topic_prefix
    bus.subscribe(topic(prefix, Kind.EVENTS), EventMessage, lambda _t, e: seen.append(e))
    wire(bus, restarted.settings, restarted)
    assert seen == [event]  # same UUID, same content
    assert restarted.pending() == []
    assert _restart(restarted).pending() == []  # and the outbox being empty is saved too


def test_events_leave_the_outbox_only_once_published(feed: Feed) -> None:
    bus, seen = MemoryBus(), []
    prefix = feed.aggregator.settings.common.topic_prefix
    bus.subscribe(topic(prefix, Kind.EVENTS), EventMessage, lambda _t, e: seen.append(e))
    feed.frame(0.0, "ABC1234")
    feed.frame(0.0, "XYZ9876")
    events = feed.end(1.0)
    assert feed.aggregator.pending() == events
    assert publish_pending(bus, feed.aggregator.settings, feed.aggregator) == 2
    assert seen == events and feed.aggregator.pending() == []


def test_a_redelivery_after_a_restart_is_skipped(feed: Feed) -> None:
    msg = feed.message(0.0, [plate_read("ABC1234", 0.0)])
    feed.aggregator.process(msg)
    again = _restart(feed.aggregator)  # crashed before acknowledging: the broker sends it again
    again.process(msg)
    [event] = again.flush()
    assert event.read_count == 1


def test_the_state_file_is_json_and_no_temp_file_is_left(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    path = feed.aggregator.settings.state_file
    assert json.loads(path.read_text())["open"][0]["best"]["normalized"] == "ABC1234"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


@pytest.mark.parametrize(
    "content",
    [b"\x00\xff garbage", b'{"version": 1, "inside": {"ABC1234": {"since": "2025-', b'{"version": 7}', b"[]"],
    ids=["binary", "truncated", "unknown-version", "wrong-shape"],
)
def test_a_corrupt_state_file_is_moved_aside_and_the_service_starts(
    make_settings, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    settings = make_settings()
    settings.state_file.parent.mkdir(parents=True)
    settings.state_file.write_bytes(content)
    with caplog.at_level(logging.ERROR, logger="aggregator.state"):
        aggregator = Aggregator(settings)
    aside = [p for p in settings.state_file.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == content  # kept for a person to look at
    assert str(settings.state_file) in caplog.text and str(aside[0]) in caplog.text
    assert aggregator.inside == {} and aggregator.open_sightings == []
    feed = Feed(aggregator)
    feed.frame(0.0, "ABC1234")
    assert [e.type for e in feed.end(1.0)] == [EventType.ENTRY]
    assert Aggregator(settings).inside.keys() == {"ABC1234"}  # and a good file replaced the bad one


def test_a_state_file_that_cannot_be_written_is_logged_and_work_goes_on(
    tmp_path: Path, make_settings, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the state directory should be")
    feed = Feed(Aggregator(make_settings(state_file=blocker / "aggregator.json")))
    with caplog.at_level(logging.ERROR, logger="aggregator"):
        feed.frame(0.0, "ABC1234")
        events = feed.end(1.0)
    assert [e.plate for e in events] == ["ABC1234"]
    assert "could not save the state" in caplog.text


def test_a_redelivery_from_a_broker_restored_from_an_older_save_is_skipped(make_settings) -> None:
    # A broker killed -9 comes back from its last autosave and sends again reads handled since: far
    # more than the last RECENT_KEYS messages. They belong to this stream: skipped, nothing counted twice.
    feed = Feed(Aggregator(make_settings(save_every_s=0)))  # every read saved: the count below is exact
    sent = [feed.message(i * 1.0, [plate_read("ABC1234", i * 1.0)]) for i in range(400)]
    for msg in sent:
        feed.aggregator.process(msg)
    again = _restart(feed.aggregator)
    for msg in sent[10:200]:
        assert again.process(msg) == []
    [event] = again.flush()
    assert (event.read_count, event.first_seen, event.last_seen) == (
        400,
        sent[0].captured_at,
        sent[-1].captured_at,
    )


def test_reads_are_saved_at_most_every_save_every_s_and_events_at_once(make_settings) -> None:
    aggregator = Aggregator(make_settings(save_every_s=5.0))
    feed = Feed(aggregator)
    for i in range(12):
        feed.frame(float(i), "ABC1234")
    crashed = _restart(aggregator)  # no close: what the file holds is what a crash leaves
    [sighting] = crashed.open_sightings
    assert sighting.read_count == 11  # saved at 0, 5 and 10 s: the read at 11 s is lost, at most 5 s are
    aggregator.save_unsaved()  # a clean stop saves what was held back
    assert _restart(aggregator).open_sightings[0].read_count == 12
    feed.frame(12.0, "ABC1234")
    [event] = feed.end(13.0)  # closed at end of stream: saved before it is returned
    assert _restart(aggregator).inside.keys() == {event.plate}

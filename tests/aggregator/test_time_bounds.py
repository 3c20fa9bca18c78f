"""No single message, and no state file an older version wrote, can stop a camera: times outside the
bus's range are invalid messages, times far from this machine's clock are refused before they touch
the state, and unusable entries of a state file are dropped one by one. Replays of old files, a
camera back after days offline and a replay that restarts are still believed."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from anpr.messages import TIME_MIN, BadMessage, EventType, ReadsMessage, decode
from services.aggregator.sightings import Aggregator
from tests.aggregator.helpers import Feed, at, plate_read

IN, OUT = EventType.ENTRY, EventType.EXIT
DAY = 86400.0


def _kinds(events: list) -> list[tuple[EventType, str]]:
    return [(e.type, e.plate) for e in events]


def _stamped(feed: Feed, when, plate: str) -> ReadsMessage:  # noqa: ANN001
    read = plate_read(plate, 0.0).model_copy(update={"captured_at": when})
    msg = ReadsMessage(camera=feed.camera, seq=feed.seq, captured_at=when, reads=(read,))
    feed.seq += 1
    return msg


def test_a_read_at_year_one_cannot_stop_the_camera_even_after_a_restart(make_settings) -> None:
    settings = make_settings()
    feed = Feed(Aggregator(settings))
    poison = feed.message(0.0, [plate_read("ZZZ9999", 0.0)]).model_dump(mode="json")
    poison["captured_at"] = poison["reads"][0]["captured_at"] = "0001-01-01T00:00:00Z"
    with contextlib.suppress(BadMessage):  # refused where the bus parses it: logged and dropped
        feed.aggregator.process(decode(ReadsMessage, json.dumps(poison)))
    feed.frame(10.0, "ABC1234")
    feed.frame(11.0, "ABC1234")
    assert _kinds(feed.end(12.0)) == [(IN, "ABC1234")]
    again = Feed(Aggregator(settings))
    again.frame(100.0, "ABC1234")
    assert _kinds(again.end(101.0)) == [(OUT, "ABC1234")]


def test_frames_stamped_far_from_now_are_refused_and_change_nothing(
    make_settings, caplog: pytest.LogCaptureFixture
) -> None:
    now = at(0.0) + timedelta(days=1)
    feed = Feed(Aggregator(make_settings(), now=lambda: now))
    feed.frame(0.0, "ABC1234")
    caplog.set_level(logging.DEBUG, logger="aggregator")
    for when in (TIME_MIN, TIME_MIN, now + timedelta(days=2)):  # booted at 1970; stamped two days ahead
        assert feed.aggregator.process(_stamped(feed, when, "XYZ9876")) == []
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.levelno for r in refusals] == [logging.WARNING, logging.DEBUG, logging.DEBUG]  # one line
    assert "AGGREGATOR_MAX_AGE_DAYS=3650" in refusals[0].getMessage()
    assert "AGGREGATOR_MAX_AHEAD_S=86400" in refusals[2].getMessage()
    feed.frame(20.0, "ABC1234")  # the sighting stayed open: the refused frames did not close it
    assert "believable again after 3 refused message(s)" in caplog.text
    [event] = feed.end(21.0)
    assert (event.type, event.plate, event.read_count) == (IN, "ABC1234", 2)
    assert feed.aggregator.inside.keys() == {"ABC1234"}


def test_the_bounds_are_settings(make_settings) -> None:
    now = at(0.0) + timedelta(days=1)
    strict = Feed(Aggregator(make_settings(max_age_days=0.5), now=lambda: now))
    assert strict.frame(0.0, "ABC1234") == [] and strict.aggregator.open_sightings == []
    loose = Feed(Aggregator(make_settings(max_ahead_s=3 * DAY), now=lambda: now))
    loose.aggregator.process(_stamped(loose, now + timedelta(days=2), "ABC1234"))
    assert len(loose.aggregator.open_sightings) == 1


def test_a_camera_back_after_days_and_replays_of_old_files_are_believed(make_settings) -> None:
    now = at(0.0) + timedelta(days=5)
    feed = Feed(Aggregator(make_settings(), now=lambda: now))
    feed.frame(0.0, "ABC1234")
    feed.frame(4 * DAY, "ABC1234")  # offline for four days; the car went and came back meanwhile
    assert _kinds(feed.end(4 * DAY + 1)) == [(OUT, "ABC1234")]
    assert _kinds(feed.events) == [(IN, "ABC1234"), (OUT, "ABC1234")]
    # A replay of a file three years old, stamped from its modification time, then restarted.
    old = -3 * 365 * DAY
    feed.seq = 0
    feed.frame(old, "XYZ9876")
    feed.frame(old + 40, "KLM5050")
    feed.seq = 0
    feed.frame(old - 600, "XYZ9876")  # restarted ten minutes earlier: its open sightings closed
    feed.end(old - 599)
    assert _kinds(feed.events[2:]) == [(IN, "XYZ9876"), (IN, "KLM5050"), (OUT, "XYZ9876")]


def test_a_read_stamped_far_from_its_frame_is_ignored(feed: Feed, caplog: pytest.LogCaptureFixture) -> None:
    stray = plate_read("XYZ9876", 0.0).model_copy(update={"captured_at": at(-3600.0)})
    feed.frame(0.0, "ABC1234", stray)
    assert [s.best.normalized for s in feed.aggregator.open_sightings] == ["ABC1234"]
    assert "1 read(s) stamped a window or more from the frame's time" in caplog.text
    assert _kinds(feed.end(1.0)) == [(IN, "ABC1234")]


def test_a_poisoned_state_file_loses_only_its_bad_entries(
    make_settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings()
    feed = Feed(Aggregator(settings))
    feed.frame(0.0, "ABC1234")
    feed.end(1.0)  # ABC1234 inside, its entry still in the outbox
    lane = Feed(feed.aggregator, camera="lane")
    lane.frame(5.0, "KLM5050")  # an open sighting on another camera
    path: Path = settings.state_file
    state = json.loads(path.read_text())
    year_one = "0001-01-01T00:00:00Z"
    state["cameras"]["gate"]["clock"] = year_one  # what an older version wrote after a year-1 read
    state["cameras"]["gate"]["recent"] = [[7, year_one]]
    # The entry has moved on to the outbox database; a ghost written by an older version stays in the file.
    entry = feed.aggregator.pending()[0].model_dump(mode="json")
    ghost = entry | {"event_id": "0b0e5a3c-53c1-4b5e-9d5e-2b8f9d0a1c11", "plate": "ZZZ9999"}
    state["outbox"].append(ghost | {"time": year_one, "first_seen": year_one, "last_seen": year_one})
    path.write_text(json.dumps(state))

    caplog.set_level(logging.ERROR, logger="aggregator.state")
    restarted = Aggregator(settings)
    assert "dropped unusable entries (1 of cameras, 1 of outbox" in caplog.text
    assert len(list(path.parent.glob("aggregator.json.corrupt-*"))) == 1  # the evidence is kept
    assert [e.plate for e in restarted.pending()] == ["ABC1234"]
    assert [s.camera for s in restarted.open_sightings] == ["lane"]
    again = Feed(restarted)
    again.frame(100.0, "ABC1234")
    assert _kinds(again.end(101.0)) == [(OUT, "ABC1234")]


def test_a_state_file_that_is_not_json_is_still_set_aside_whole(make_settings) -> None:
    settings = make_settings()
    settings.state_file.parent.mkdir(parents=True)
    settings.state_file.write_text('{"cameras": ')
    assert Aggregator(settings).inside == {}
    assert len(list(settings.state_file.parent.glob("aggregator.json.corrupt-*"))) == 1

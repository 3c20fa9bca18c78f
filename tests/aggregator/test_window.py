"""The 30-second rule in time: window edges, sightings that last, clocks from the messages only."""

from __future__ import annotations

import pytest

from anpr.messages import EventType
from tests.aggregator.helpers import Feed, at


@pytest.mark.parametrize(
    ("gap_s", "sightings"),
    [(29.9, 1), (30.0, 2), (30.1, 2)],
    ids=["29.9s-one-sighting", "exactly-30s-two-sightings", "30.1s-two-sightings"],
)
def test_reads_less_than_the_window_apart_are_one_sighting(feed: Feed, gap_s: float, sightings: int) -> None:
    # Documented choice: "less than the window apart" joins; exactly the window apart does not.
    feed.frame(0.0, "ABC1234")
    feed.frame(gap_s, "ABC1234")
    feed.end(gap_s + 1)
    assert len(feed.events) == sightings
    assert [e.type for e in feed.events] == [EventType.ENTRY, EventType.EXIT][:sightings]
    assert sum(e.read_count for e in feed.events) == 2


def test_a_sighting_closes_when_the_clock_reaches_last_read_plus_window(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    feed.frame(10.0, "ABC1234")
    assert feed.frame(39.9) == []  # a frame without reads moves the clock too
    closed = feed.frame(40.0)
    assert len(closed) == 1
    event = closed[0]
    assert (event.type, event.plate, event.read_count) == (EventType.ENTRY, "ABC1234", 2)
    assert (event.first_seen, event.last_seen) == (at(0.0), at(10.0))
    assert feed.aggregator.open_sightings == []


def test_a_car_waiting_in_view_for_60s_is_one_sighting(feed: Feed) -> None:
    for second in range(0, 61):
        assert feed.frame(float(second), "CWW2245") == []
    feed.frame(89.9)
    assert feed.events == []
    feed.frame(90.0)
    assert len(feed.events) == 1
    event = feed.events[0]
    assert event.type is EventType.ENTRY
    assert (event.first_seen, event.last_seen, event.read_count) == (at(0), at(60), 61)


def test_reads_29s_apart_chain_into_one_long_sighting(feed: Feed) -> None:
    for n in range(11):  # 290 s, never a 30 s gap
        feed.frame(29.0 * n, "ABC1234")
    feed.end(300.0)
    assert [(e.type, e.read_count) for e in feed.events] == [(EventType.ENTRY, 11)]


def test_only_the_messages_clock_counts_not_the_wall_clock(feed: Feed) -> None:
    # Hours of wall-clock silence change nothing; 30 s of footage does.
    feed.frame(0.0, "ABC1234")
    assert feed.frame(29.0) == []
    assert len(feed.frame(30.0)) == 1


def test_each_camera_has_its_own_clock(aggregator) -> None:
    gate, lane = Feed(aggregator, "gate"), Feed(aggregator, "lane")
    gate.frame(0.0, "ABC1234")
    lane.frame(100.0)  # another camera far ahead in time does not close the gate's sighting
    assert aggregator.open_sightings and gate.events == lane.events == []
    assert len(gate.frame(30.0)) == 1


def test_the_same_plate_on_two_cameras_is_two_sightings(aggregator) -> None:
    gate, lane = Feed(aggregator, "gate"), Feed(aggregator, "lane")
    gate.frame(0.0, "ABC1234")
    lane.frame(1.0, "ABC1234")
    events = aggregator.flush()
    # Entry on one, exit on the other: "inside" is one lot, whatever the camera.
    assert [(e.camera, e.type) for e in events] == [("gate", EventType.ENTRY), ("lane", EventType.EXIT)]


def test_end_of_stream_closes_only_that_cameras_sightings(aggregator) -> None:
    gate, lane = Feed(aggregator, "gate"), Feed(aggregator, "lane")
    gate.frame(0.0, "ABC1234")
    lane.frame(0.0, "XYZ9876")
    closed = gate.end(1.0)
    assert [e.plate for e in closed] == ["ABC1234"]
    assert [s.best.normalized for s in aggregator.open_sightings] == ["XYZ9876"]


def test_a_replay_after_end_of_stream_starts_a_fresh_timeline(feed: Feed) -> None:
    # The same clip twice with the same timestamps: the second pass is a second sighting (an exit),
    # neither skipped as a redelivery nor mixed into the first pass.
    for _ in range(2):
        feed.seq = 0
        feed.frame(0.0, "ABC1234")
        feed.frame(1.0, "ABC1234")
        feed.end(2.0)
    assert [(e.type, e.read_count) for e in feed.events] == [(EventType.ENTRY, 2), (EventType.EXIT, 2)]


def test_time_going_back_without_end_of_stream_closes_the_old_timeline(feed: Feed) -> None:
    feed.frame(1000.0, "ABC1234")
    closed = feed.frame(0.0, "XYZ9876")  # the clock was reset: more than a window back
    assert [(e.plate, e.type) for e in closed] == [("ABC1234", EventType.ENTRY)]
    assert [s.best.normalized for s in feed.aggregator.open_sightings] == ["XYZ9876"]


def test_a_slightly_late_read_still_joins_its_sighting(feed: Feed) -> None:
    feed.frame(10.0, "ABC1234")
    feed.frame(5.0, "ABC1234")  # late by 5 s, less than a window: not a reset
    feed.end(11.0)
    assert [(e.read_count, e.first_seen, e.last_seen) for e in feed.events] == [(2, at(5.0), at(10.0))]


def test_events_closed_together_come_out_ordered_by_time(feed: Feed) -> None:
    feed.frame(0.0, "XYZ9876")
    feed.frame(2.0, "ABC1234", confidence=0.95)
    feed.frame(3.0, "XYZ9876", confidence=0.99)  # XYZ's best read is later than ABC's
    closed = feed.end(4.0)
    assert [e.plate for e in closed] == ["ABC1234", "XYZ9876"]
    assert [e.time for e in closed] == sorted(e.time for e in closed)

"""Which reads are one car: misreads, confusables, interleaved cars, track ids, the best read."""

from __future__ import annotations

from anpr.messages import EventType, VehicleClass
from services.aggregator.sightings import Aggregator
from tests.aggregator.helpers import Feed, at, plate_read


def test_one_misread_character_stays_in_the_sighting(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    feed.frame(1.0, "ABC1284")  # one substitution
    feed.frame(2.0, "ABC234")  # one character dropped
    feed.frame(3.0, "ABC1234")
    feed.end(4.0)
    assert [(e.type, e.plate, e.read_count) for e in feed.events] == [(EventType.ENTRY, "ABC1234", 4)]


def test_confusable_characters_count_as_equal(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    feed.frame(1.0, "A8C1Z34", confidence=0.6)  # B/8 and 2/Z are confusables: distance 0
    feed.frame(2.0, "A8C1Z35", confidence=0.6)  # plus one real error: still the same plate
    feed.frame(3.0, "ABC1234")
    feed.end(4.0)
    # One sighting; the vote (0.9 + 0.9 against 0.6 + 0.6) keeps the letters where they were read best.
    assert [(e.plate, e.read_count) for e in feed.events] == [("ABC1234", 4)]


def test_two_misread_characters_are_another_plate(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    feed.frame(1.0, "ABC1299")
    feed.end(2.0)
    assert sorted((e.plate, e.type) for e in feed.events) == [
        ("ABC1234", EventType.ENTRY),
        ("ABC1299", EventType.ENTRY),
    ]


def test_max_errors_zero_tolerates_only_confusables(make_settings) -> None:
    feed = Feed(Aggregator(make_settings(max_errors=0)))
    feed.frame(0.0, "ABC1234")
    feed.frame(1.0, "A8C1234")
    feed.frame(2.0, "ABC1284")
    feed.end(3.0)
    assert sorted((e.plate, e.read_count) for e in feed.events) == [("ABC1234", 2), ("ABC1284", 1)]


def test_two_cars_interleaved_stay_apart(feed: Feed) -> None:
    cars = {"ABC1234": ["ABC1234", "ABC1284", "A8C1234"], "XYZ9876": ["XYZ9876", "XYZ9B76", "XY29876"]}
    for i in range(12):
        plate = "ABC1234" if i % 2 == 0 else "XYZ9876"
        feed.frame(float(i), cars[plate][(i // 2) % 3])
    feed.end(12.0)
    assert sorted((e.plate, e.type, e.read_count) for e in feed.events) == [
        ("ABC1234", EventType.ENTRY, 6),
        ("XYZ9876", EventType.ENTRY, 6),
    ]


def test_two_cars_in_one_frame_stay_apart(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234", "ABD1244")  # two characters apart
    feed.frame(1.0, "ABD1244", "ABC1234")
    feed.end(2.0)
    assert sorted((e.plate, e.read_count) for e in feed.events) == [("ABC1234", 2), ("ABD1244", 2)]


def test_a_read_goes_to_the_closest_sighting(make_settings) -> None:
    feed = Feed(Aggregator(make_settings(max_errors=2)))
    feed.frame(0.0, "ABC1234")
    feed.frame(0.5, "ABC1567")  # three apart: a second car
    feed.frame(1.0, "ABC1537")  # two from ABC1234 (tolerated), one from ABC1567: goes there
    feed.frame(1.5, "ABC1234")  # exact beats the two-error match to the other
    feed.end(2.0)
    assert sorted((e.plate, e.read_count) for e in feed.events) == [("ABC1234", 2), ("ABC1567", 2)]


def test_equally_close_sightings_prefer_the_reads_track(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234", track=1)
    feed.frame(0.1, "ABC1256", track=2)  # two apart: a second car
    feed.frame(0.5, "ABC1236", track=2)  # one from each; track 2 decides
    feed.frame(0.6, "ABC1236", track=1)  # the same text on track 1 goes the other way
    feed.end(1.0)
    assert sorted((e.plate, e.read_count) for e in feed.events) == [("ABC1234", 2), ("ABC1256", 2)]


def test_a_track_id_holds_together_reads_that_differ_more(feed: Feed) -> None:
    feed.frame(0.0, "DL3C2Z", track=7)
    feed.frame(0.5, "DL3", track=7)  # a partial read of the same tracked vehicle
    feed.frame(1.0, "0L8C2", track=7)
    feed.frame(1.5, "DL3", track=8)  # the same text on another track is another plate
    feed.end(2.0)
    assert sorted((e.plate, e.read_count) for e in feed.events) == [("DL3", 1), ("DL3C2Z", 3)]


def test_a_track_id_does_not_hold_together_unrelated_texts(make_settings) -> None:
    feed = Feed(Aggregator(make_settings(track_max_errors=3)))
    feed.frame(0.0, "ABC1234", track=7)
    feed.frame(0.5, "XYZ9876", track=7)  # a tracker id switch to another car: seven apart
    feed.end(1.0)
    assert sorted(e.plate for e in feed.events) == ["ABC1234", "XYZ9876"]


def test_the_event_comes_from_the_most_confident_read(feed: Feed) -> None:
    feed.frame(0.0, plate_read("ABC1234", 0.0, 0.60, snapshot=b"jpeg-0"))
    feed.frame(1.0, plate_read("ABC1234", 1.0, 0.97, vehicle_class=VehicleClass.TRUCK, snapshot=b"jpeg-1"))
    feed.frame(2.0, plate_read("ABC1234", 2.0, 0.80, snapshot=b"jpeg-2"))
    event = feed.end(3.0)[0]
    assert (event.confidence, event.time, event.vehicle_class) == (0.97, at(1.0), VehicleClass.TRUCK)
    assert event.snapshot_jpeg == b"jpeg-1"
    assert [c.confidence for c in event.candidates] == [0.97]
    assert (event.first_seen, event.last_seen, event.read_count) == (at(0.0), at(2.0), 3)


def test_the_plate_is_voted_so_one_confident_misread_does_not_decide(feed: Feed) -> None:
    for s in range(5):
        feed.frame(float(s), "ABC1234", confidence=0.8)
    feed.frame(5.0, "ABC1284", confidence=0.99)
    event = feed.end(6.0)[0]
    # The best read gives time and confidence; five agreeing reads give the text.
    assert (event.plate, event.confidence, event.time) == ("ABC1234", 0.99, at(5.0))


def test_reads_below_min_confidence_are_ignored(make_settings) -> None:
    feed = Feed(Aggregator(make_settings(min_read_confidence=0.5)))
    feed.frame(0.0, "ABC1234", confidence=0.4)
    feed.frame(1.0, "ABC1234", confidence=0.7)
    feed.frame(2.0, "XYZ9876", confidence=0.2)
    feed.end(3.0)
    assert [(e.plate, e.read_count, e.confidence) for e in feed.events] == [("ABC1234", 1, 0.7)]


def test_an_oversized_snapshot_is_left_out(make_settings) -> None:
    feed = Feed(Aggregator(make_settings(snapshot_max_bytes=100)))
    feed.frame(0.0, plate_read("ABC1234", 0.0, 0.9, snapshot=b"x" * 101))
    feed.frame(0.0, plate_read("XYZ9876", 0.0, 0.9, snapshot=b"x" * 100))
    events = {e.plate: e for e in feed.end(1.0)}
    assert events["ABC1234"].snapshot_jpeg is None
    assert events["XYZ9876"].snapshot_jpeg == b"x" * 100


def test_other_cameras_are_ignored_when_a_camera_list_is_set(make_settings) -> None:
    aggregator = Aggregator(make_settings(cameras="gate, exit-lane"))
    Feed(aggregator, "gate").frame(0.0, "ABC1234")
    Feed(aggregator, "exit-lane").frame(0.0, "XYZ9876")
    Feed(aggregator, "lobby").frame(0.0, "KLM5555")
    assert sorted(e.plate for e in aggregator.flush()) == ["ABC1234", "XYZ9876"]


def test_entry_exit_entry_alternate_per_plate(feed: Feed) -> None:
    for start in (0.0, 100.0, 200.0, 300.0):
        feed.frame(start, "ABC1234")
        feed.frame(start + 1, "ABC1234")
    feed.frame(400.0)
    assert [e.type for e in feed.events] == [EventType.ENTRY, EventType.EXIT, EventType.ENTRY, EventType.EXIT]
    assert feed.aggregator.inside == {}


def test_the_exit_carries_the_plate_recorded_at_entry(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    feed.frame(100.0, "ABC1284")  # the way out is read with one error, every time
    feed.frame(101.0, "ABC1284")
    feed.frame(200.0)
    assert [(e.type, e.plate) for e in feed.events] == [
        (EventType.ENTRY, "ABC1234"),
        (EventType.EXIT, "ABC1234"),
    ]
    assert feed.aggregator.inside == {}


def test_an_exit_pairs_with_the_closest_plate_inside(feed: Feed) -> None:
    feed.frame(0.0, "ABC1234")
    feed.frame(0.5, "ABC1256")
    feed.frame(50.0, "ABC1256")  # exact for one car inside, two errors from the other
    feed.frame(100.0)
    assert [(e.type, e.plate) for e in feed.events][-1] == (EventType.EXIT, "ABC1256")
    assert list(feed.aggregator.inside) == ["ABC1234"]


def test_a_redelivered_message_is_not_counted_twice(feed: Feed) -> None:
    msg = feed.message(0.0, [plate_read("ABC1234", 0.0)])
    feed.aggregator.process(msg)
    feed.aggregator.process(msg)
    closing = feed.message(40.0)
    first = feed.aggregator.process(closing)
    assert feed.aggregator.process(closing) == []  # the broker's redelivery after a lost ack
    assert [(e.type, e.read_count) for e in first] == [(EventType.ENTRY, 1)]

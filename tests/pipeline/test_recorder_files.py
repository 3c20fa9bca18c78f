"""The run's CSV files on a camera run that lasts for days: each read and each event is on disk when it
arrives or is decided, and what the recorder keeps for the end of the run holds no reads and no pictures."""

from __future__ import annotations

import csv
import gc
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from anpr.bus import MemoryBus
from anpr.images import encode_jpeg
from anpr.messages import Box, EventMessage, EventType, Kind, PlateRead, ReadsMessage, VehicleClass, topic
from services.pipeline.recorder import EVENTS_CSV_NAME, READS_CSV_NAME, Recorder

PREFIX = "test-recorder/anpr/v1"
T0 = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
NOISE = np.random.default_rng(11)


def _snapshot() -> bytes:
    return encode_jpeg(NOISE.integers(0, 255, (240, 320, 3), np.uint8), 90)  # ~60 KB: noise does not compress


def _event(at_s: float, plate: str, kind: EventType = EventType.ENTRY) -> EventMessage:
    t = T0 + timedelta(seconds=at_s)
    return EventMessage(
        type=kind, plate=plate, confidence=0.9, camera="gate", time=t, first_seen=t, last_seen=t,
        vehicle_class=VehicleClass.CAR, read_count=3, snapshot_jpeg=_snapshot(),
    )  # fmt: skip


def _reads(seq: int) -> ReadsMessage:
    t = T0 + timedelta(seconds=seq)
    read = PlateRead(
        text="ABC1234", normalized="ABC1234", confidence=0.9, vehicle_box=Box(x=0, y=0, w=100, h=80),
        plate_box=Box(x=10, y=50, w=40, h=12), vehicle_class=VehicleClass.CAR, track_id=1, engine="test",
        captured_at=t, snapshot_jpeg=_snapshot(),
    )  # fmt: skip
    return ReadsMessage(camera="gate", seq=seq, captured_at=t, reads=(read,))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_each_event_is_in_events_csv_when_it_is_decided(tmp_path: Path) -> None:
    bus = MemoryBus()
    recorder = Recorder(tmp_path, "UTC", (), write_video=False)
    recorder.attach(bus, PREFIX)
    assert _rows(tmp_path / EVENTS_CSV_NAME) == []  # the header is there from the start
    bus.publish(topic(PREFIX, Kind.EVENTS), _event(40, "XYZ9876"))
    assert [r["plate_normalized"] for r in _rows(tmp_path / EVENTS_CSV_NAME)] == ["XYZ9876"]
    bus.publish(topic(PREFIX, Kind.EVENTS), _event(10, "ABC1234", EventType.EXIT))  # another camera's order
    assert len(_rows(tmp_path / EVENTS_CSV_NAME)) == 2  # a crash now loses neither
    recorder.close()
    rows = _rows(tmp_path / EVENTS_CSV_NAME)
    assert [(r["plate_normalized"], r["type"]) for r in rows] == [("ABC1234", "exit"), ("XYZ9876", "entry")]
    assert not list(tmp_path.glob(".*.tmp"))


def test_each_read_is_in_the_reads_csv_when_it_arrives_and_is_not_kept(tmp_path: Path) -> None:
    bus = MemoryBus()
    recorder = Recorder(tmp_path, "UTC", (), write_video=False)
    recorder.attach(bus, PREFIX)
    bus.publish(topic(PREFIX, Kind.READS, "gate"), _reads(0))  # warm-up: csv and datetime caches
    tracemalloc.start()
    try:
        gc.collect()  # what is left is kept, not garbage awaiting the collector (paho's matcher makes cycles)
        before = tracemalloc.get_traced_memory()[0]
        for seq in range(1, 3001):
            bus.publish(topic(PREFIX, Kind.READS, "gate"), _reads(seq))
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 100_000, kept  # a row kept per read (~400 bytes) would be over a megabyte
    assert len(_rows(tmp_path / READS_CSV_NAME)) == 3001  # a crash now loses none
    bus.publish(topic(PREFIX, Kind.EVENTS), _event(1200, "ABC1234"))  # its best read: the one at 1200 s
    recorder.close()
    rows = _rows(tmp_path / READS_CSV_NAME)
    assert [r["frame"] for r in rows] == [str(i) for i in range(3001)]
    assert [r["frame"] for r in rows if r["event"] == "entry"] == ["1200"]
    assert rows[1200]["event_id"] == str(recorder.events[0].event_id)
    assert not list(tmp_path.glob(".*.tmp"))


def test_what_is_kept_for_the_end_of_the_run_holds_no_snapshots(tmp_path: Path) -> None:
    """200 reads and 100 events, each with a ~60 KB snapshot (~18 MB of JPEG): the recorder keeps the events'
    rows alone."""
    bus = MemoryBus()
    recorder = Recorder(tmp_path, "UTC", (), write_video=False)
    recorder.attach(bus, PREFIX)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for seq in range(200):
            bus.publish(topic(PREFIX, Kind.READS, "gate"), _reads(seq))
            if seq % 2 == 0:
                bus.publish(topic(PREFIX, Kind.EVENTS), _event(seq, "ABC1234"))
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 2_000_000, kept
    recorder.close()
    rows = _rows(tmp_path / READS_CSV_NAME)
    assert len(rows) == 200
    assert sum(r["event"] == "entry" for r in rows) == 100  # each event still found its best read

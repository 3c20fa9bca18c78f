"""Fuzz: any valid messages, extremes included, on the aggregator's topics, then a restart; the
camera still turns a car's reads into the right entry and exit afterwards."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from anpr.bus import MemoryBus
from anpr.messages import EventMessage, EventType, Kind, Message, ReadsMessage, topic, utcnow
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from services.aggregator.wiring import wire
from tests.aggregator.helpers import plate_read
from tests.common.strategies import fuzz_settings, over_the_wire, reads_messages, statuses

SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None
PLATE = "QJX7W2V"  # no fuzzed plate comes within one edit of it by chance


def _run(state_file: Path, messages: list[Message]) -> None:
    settings = AggregatorSettings(state_file=state_file)
    bus = MemoryBus()
    wire(bus, settings, Aggregator(settings))
    prefix = settings.common.topic_prefix
    for msg in map(over_the_wire, messages):
        # Nothing consumes status messages; on a reads topic one is the wrong kind, and dropped.
        name = msg.camera if isinstance(msg, ReadsMessage) else "gate"
        bus.publish(topic(prefix, Kind.READS, name), msg)


def _valid_visit(state_file: Path) -> list[EventMessage]:
    """A car entering and leaving at the gate, as the OCR would report it, after a restart."""
    settings = AggregatorSettings(state_file=state_file)
    bus, stage = MemoryBus(), Aggregator(settings)
    out: list[EventMessage] = []
    prefix = settings.common.topic_prefix
    bus.subscribe(topic(prefix, Kind.EVENTS), EventMessage, lambda _t, e: out.append(e))
    wire(bus, settings, stage)
    start = utcnow() - timedelta(hours=1)
    for seq, (seconds, plate) in enumerate([(0, PLATE), (1, PLATE), (100, None), (600, PLATE), (700, None)]):
        at = start + timedelta(seconds=seconds)
        reads = () if plate is None else (plate_read(plate, 0).model_copy(update={"captured_at": at}),)
        bus.publish(
            topic(prefix, Kind.READS, "gate"),
            ReadsMessage(camera="gate", seq=seq, captured_at=at, reads=reads),
        )
    return [e for e in out if e.plate == PLATE]


@fuzz_settings(150)
@given(messages=st.lists(st.one_of(reads_messages(), statuses), max_size=12))
def test_no_valid_message_stops_the_aggregator(messages: list[Message]) -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as scratch:
        state_file = Path(scratch) / "aggregator.json"
        _run(state_file, messages)
        events = _valid_visit(state_file)
    assert [(e.type, e.read_count) for e in events] == [(EventType.ENTRY, 2), (EventType.EXIT, 1)]

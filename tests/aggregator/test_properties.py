"""Properties of the aggregator over generated footage: every read lands in exactly one event, a
plate's events alternate entry/exit and follow its gaps, a restart changes nothing, the vote does
not depend on the order of reads."""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anpr.messages import EventMessage, EventType
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from services.aggregator.vote import voted_plate
from tests.aggregator.helpers import Feed, at, plate_read

WINDOW = 30.0
# Pairwise at least four edits apart, so that no misread of one is within one error of another.
PLATES = ("ABC1234", "XYZ9876", "KLM5050", "TRV4417")
# Each plate's one habitual misread (one character off), so every vote lands on the plate or on it.
MISREAD = {"ABC1234": "ABC1284", "XYZ9876": "XYZ9B76", "KLM5050": "KLN5050", "TRV4417": "TRV4411"}
# tmpfs where there is one: the state file is fsynced on every change.
SCRATCH = "/dev/shm" if os.path.isdir("/dev/shm") else None


@dataclass(frozen=True)
class Frame:
    seconds: float
    reads: tuple[tuple[str, bool, float], ...]  # (plate, misread, confidence)


@st.composite
def footage(draw: st.DrawFn) -> list[Frame]:
    frames, t = [], 0.0
    for _ in range(draw(st.integers(1, 40))):
        t += draw(st.sampled_from([0.1, 1.0, 5.0, 29.9, 30.0, 30.1, 45.0, 120.0]))
        plates = draw(st.lists(st.sampled_from(PLATES), max_size=2, unique=True))
        reads = tuple((p, draw(st.booleans()), draw(st.floats(0.05, 1.0))) for p in plates)
        frames.append(Frame(round(t, 1), reads))
    return frames


def _run(frames: list[Frame], state_dir: Path, restart_at: int | None = None) -> list[EventMessage]:
    settings = AggregatorSettings(state_file=state_dir / "aggregator.json", window_s=WINDOW)
    feed = Feed(Aggregator(settings))
    for i, frame in enumerate(frames):
        if i == restart_at:  # a new process on the same state file, in the middle of the footage
            again = Feed(Aggregator(settings))
            again.seq, again.events = feed.seq, feed.events
            feed = again
        reads = [plate_read(MISREAD[p] if bad else p, frame.seconds, conf) for p, bad, conf in frame.reads]
        feed.frame(frame.seconds, *reads)
    feed.end(frames[-1].seconds + 1)
    return feed.events


def _identity(plate: str) -> str:
    [owner] = [p for p in PLATES if plate in (p, MISREAD[p])]
    return owner


def _expected_sightings(frames: list[Frame]) -> dict[str, list[int]]:
    """Per plate, the read counts of its sightings: split wherever reads are a window or more apart."""
    times: dict[str, list[float]] = defaultdict(list)
    for frame in frames:
        for plate, _, _ in frame.reads:
            times[plate].append(frame.seconds)
    out: dict[str, list[int]] = {}
    for plate, ts in times.items():
        counts = [1]
        for prev, cur in zip(ts, ts[1:], strict=False):
            if cur - prev >= WINDOW - 1e-9:
                counts.append(1)
            else:
                counts[-1] += 1
        out[plate] = counts
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=footage())
def test_each_plate_gets_one_event_per_sighting_alternating_entry_exit(frames: list[Frame]) -> None:
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        events = _run(frames, Path(tmp))
    by_plate: dict[str, list[EventMessage]] = defaultdict(list)
    for event in events:
        by_plate[_identity(event.plate)].append(event)
    expected = _expected_sightings(frames)
    assert {p: [e.read_count for e in evs] for p, evs in by_plate.items()} == expected
    for evs in by_plate.values():
        kinds = [e.type for e in evs]
        assert kinds == [EventType.ENTRY if i % 2 == 0 else EventType.EXIT for i in range(len(kinds))]
        for entry, exit_ in zip(evs[::2], evs[1::2], strict=False):
            assert exit_.plate == entry.plate  # the exit carries the identity recorded at entry
    # No read is lost into nowhere, none counted twice.
    assert sum(e.read_count for e in events) == sum(len(f.reads) for f in frames)
    for event in events:
        assert event.first_seen <= event.time <= event.last_seen


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames=footage(), data=st.data())
def test_a_restart_anywhere_changes_no_event(frames: list[Frame], data: st.DataObject) -> None:
    restart_at = data.draw(st.integers(0, len(frames)))
    with tempfile.TemporaryDirectory(dir=SCRATCH) as a, tempfile.TemporaryDirectory(dir=SCRATCH) as b:
        straight = _run(frames, Path(a))
        restarted = _run(frames, Path(b), restart_at)

    def facts(e: EventMessage) -> tuple[object, ...]:
        return e.type, e.plate, e.read_count, e.first_seen, e.last_seen, e.time, e.confidence

    assert [facts(e) for e in restarted] == [facts(e) for e in straight]


@given(
    votes=st.dictionaries(
        st.text(alphabet="AB18Z2", min_size=5, max_size=7), st.floats(0.001, 5.0), min_size=1, max_size=6
    ),
)
def test_the_vote_does_not_depend_on_the_order_reads_came_in(votes: dict[str, float]) -> None:
    best = max(votes, key=lambda t: (votes[t], t))
    forward = voted_plate(votes, best)
    assert voted_plate(dict(reversed(list(votes.items()))), best) == forward
    assert voted_plate(dict(sorted(votes.items())), best) == forward


def test_events_of_one_call_are_ordered_by_time(tmp_path: Path) -> None:
    feed = Feed(Aggregator(AggregatorSettings(state_file=tmp_path / "s.json")))
    for i, plate in enumerate(PLATES):
        feed.frame(float(i), plate_read(plate, float(i), 0.5))
    feed.frame(5.0, plate_read(PLATES[0], 5.0, 0.99))  # its best read is now the latest
    events = feed.end(6.0)
    assert [e.time for e in events] == sorted(e.time for e in events)
    assert events[-1].time == at(5.0)

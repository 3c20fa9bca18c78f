"""Pairing entries with exits into visits. Pure: sightings in, visits out, the clock passed in.

Sightings pair per plate identity (the exact blind index: the aggregator has already normalised the
plate), in time order. An entry followed by an exit within `max_stay` is a completed visit; an entry
followed by another entry, or left open longer than `max_stay`, lost its exit; an exit with no open
entry lost its entry. An entry still open within `max_stay` of `now` is a vehicle parked now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Sighting:
    pk: int
    event_id: str
    plate_key: str
    type: str  # "entry" | "exit"
    time: datetime  # aware UTC
    camera: str
    split: bool = False  # an exit corrected to pair with no entry


@dataclass(frozen=True)
class Visit:
    plate_key: str
    status: str  # parked | completed | no_entry | no_exit
    entry: Sighting | None
    exit: Sighting | None
    duration_s: float | None

    @property
    def sort_time(self) -> datetime:
        first = self.entry or self.exit
        assert first is not None
        return first.time


def pairs(entry: Sighting, exit_: Sighting, max_stay: timedelta) -> bool:
    return not exit_.split and exit_.time - entry.time <= max_stay


def pair_visits(sightings: Iterable[Sighting], now: datetime, max_stay: timedelta) -> list[Visit]:
    by_plate = plate_sequences(sightings)
    visits: list[Visit] = []
    for key, seq in by_plate.items():
        open_entry: Sighting | None = None
        for s in seq:
            if s.type == "entry":
                if open_entry is not None:
                    visits.append(Visit(key, "no_exit", open_entry, None, None))
                open_entry = s
                continue
            if open_entry is not None and pairs(open_entry, s, max_stay):
                stay = (s.time - open_entry.time).total_seconds()
                visits.append(Visit(key, "completed", open_entry, s, stay))
            else:
                if open_entry is not None:
                    visits.append(Visit(key, "no_exit", open_entry, None, None))
                visits.append(Visit(key, "no_entry", None, s, None))
            open_entry = None
        if open_entry is not None:
            if open_entry.time <= now and now - open_entry.time <= max_stay:
                visits.append(Visit(key, "parked", open_entry, None, (now - open_entry.time).total_seconds()))
            else:
                visits.append(Visit(key, "no_exit", open_entry, None, None))
    visits.sort(key=lambda v: v.sort_time, reverse=True)
    return visits


@dataclass(frozen=True)
class PairedRow:
    """A visit as stored: its status at a given time follows from `open_until` (see VisitRow)."""

    plate_key: str
    entry: Sighting | None
    exit: Sighting | None
    open_until: datetime | None
    duration_s: float | None


def visit_rows(seq: Sequence[Sighting], targets: Iterable[int], max_stay: timedelta) -> list[PairedRow]:
    """The rows of the visits holding `seq[i]` for each i in `targets`, where `seq` is one plate's
    sightings in (time, pk) order. Each decision looks at one neighbour only (after an exit nothing is
    open, after an entry that entry is), so a slice around a changed sighting re-pairs it exactly."""
    rows: dict[int, PairedRow] = {}
    for i in sorted(set(targets)):
        s = seq[i]
        if s.type == "entry":
            nxt = seq[i + 1] if i + 1 < len(seq) else None
            if nxt is not None and nxt.type == "exit" and pairs(s, nxt, max_stay):
                stay = (nxt.time - s.time).total_seconds()
                rows[s.pk] = PairedRow(s.plate_key, s, nxt, nxt.time, stay)
            else:
                rows[s.pk] = PairedRow(s.plate_key, s, None, nxt.time if nxt else None, None)
            continue
        prv = seq[i - 1] if i > 0 else None
        if prv is not None and prv.type == "entry" and pairs(prv, s, max_stay):
            rows[prv.pk] = visit_rows(seq, [i - 1], max_stay)[0]
        else:
            rows[s.pk] = PairedRow(s.plate_key, None, s, None, None)
    return list(rows.values())


def plate_sequences(sightings: Iterable[Sighting]) -> dict[str, list[Sighting]]:
    by_plate: dict[str, list[Sighting]] = defaultdict(list)
    for s in sorted(sightings, key=lambda s: (s.time, s.pk)):
        by_plate[s.plate_key].append(s)
    return by_plate

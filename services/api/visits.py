"""Pairing entries with exits into visits. Pure: sightings in, visits out, the clock passed in.

Sightings pair per plate identity (the exact blind index: the aggregator has already normalised the
plate), in time order. An entry followed by an exit within `max_stay` is a completed visit; an entry
followed by another entry, or left open longer than `max_stay`, lost its exit; an exit with no open
entry lost its entry. An entry still open within `max_stay` of `now` is a vehicle parked now.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
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


def pair_visits(sightings: Iterable[Sighting], now: datetime, max_stay: timedelta) -> list[Visit]:
    by_plate: dict[str, list[Sighting]] = defaultdict(list)
    for s in sorted(sightings, key=lambda s: (s.time, s.pk)):
        by_plate[s.plate_key].append(s)
    visits: list[Visit] = []
    for key, seq in by_plate.items():
        open_entry: Sighting | None = None
        for s in seq:
            if s.type == "entry":
                if open_entry is not None:
                    visits.append(Visit(key, "no_exit", open_entry, None, None))
                open_entry = s
                continue
            if open_entry is not None and s.time - open_entry.time <= max_stay:
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

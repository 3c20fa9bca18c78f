"""Pairing entries and exits (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from services.api.visits import Sighting, pair_visits

T0 = datetime(2026, 3, 1, 8, tzinfo=timezone.utc)
MAX = timedelta(hours=72)


def s(pk: int, plate: str, kind: str, minutes: float) -> Sighting:
    return Sighting(pk, f"e{pk}", plate, kind, T0 + timedelta(minutes=minutes), "gate")


def test_pairs_and_gaps() -> None:
    sightings = [
        s(1, "A", "entry", 0),
        s(2, "A", "exit", 30),  # completed
        s(3, "B", "exit", 5),  # no entry
        s(4, "C", "entry", 10),
        s(5, "C", "entry", 20),
        s(6, "C", "exit", 50),  # first entry lost its exit
        s(7, "D", "entry", 60),  # parked
        s(8, "E", "entry", -5000),
        s(9, "E", "exit", 100),  # longer than the longest stay
    ]
    got = {
        (v.plate_key, v.status, v.entry.pk if v.entry else None, v.exit.pk if v.exit else None, v.duration_s)
        for v in pair_visits(sightings, T0 + timedelta(minutes=90), MAX)
    }
    assert got == {
        ("A", "completed", 1, 2, 1800.0),
        ("B", "no_entry", None, 3, None),
        ("C", "no_exit", 4, None, None),
        ("C", "completed", 5, 6, 1800.0),
        ("D", "parked", 7, None, 1800.0),
        ("E", "no_exit", 8, None, None),
        ("E", "no_entry", None, 9, None),
    }


@given(
    st.lists(st.tuples(st.sampled_from("PQR"), st.sampled_from(["entry", "exit"]), st.integers(0, 10_000)))
)
def test_every_sighting_is_in_exactly_one_visit(items) -> None:  # noqa: ANN001
    sightings = [s(i, p, k, m) for i, (p, k, m) in enumerate(items)]
    visits = pair_visits(sightings, T0 + timedelta(days=30), MAX)
    used = [x.pk for v in visits for x in (v.entry, v.exit) if x is not None]
    assert sorted(used) == list(range(len(items)))
    assert all(v.duration_s is None or v.duration_s >= 0 for v in visits)

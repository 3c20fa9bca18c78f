"""The records queries as they were before visit rows and roll-ups (pair every range in Python,
aggregate with pandas): the reference tests hold the row-based queries to, on the same data."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select

from services.api.db import as_utc
from services.api.models import Event
from services.api.store import OVERSTAY_LOOKBACK, EventStore
from services.api.visits import Sighting, Visit, pair_visits


async def _sightings(store: EventStore, since: datetime, until: datetime) -> list[Sighting]:
    cols = (Event.id, Event.event_id, Event.plate_index, Event.type, Event.time, Event.camera)
    stmt = select(*cols).where(
        Event.time >= since.replace(tzinfo=None), Event.time < until.replace(tzinfo=None)
    )
    async with store.sf() as s:
        rows = (await s.execute(stmt)).all()
    return [Sighting(r[0], r[1], r[2], r[3], as_utc(r[4]), r[5]) for r in rows]


def _utc(dt: datetime) -> datetime:
    return as_utc(dt)


async def visits(store: EventStore, since: datetime, until: datetime, now: datetime) -> list[tuple]:
    """(plate_key, status, entry event, exit event, duration) of visits starting in [since, until)."""
    since, until = _utc(since), _utc(until)
    window_end = min(until + store.max_stay, now + timedelta(seconds=1))
    got = pair_visits(await _sightings(store, since - store.max_stay, window_end), now, store.max_stay)
    return [_key(v) for v in got if since <= v.sort_time < until]


def _key(v: Visit) -> tuple:
    return (
        v.plate_key,
        v.status,
        v.entry.event_id if v.entry else None,
        v.exit.event_id if v.exit else None,
        v.duration_s,
    )


async def occupancy(store: EventStore, at: datetime) -> tuple[set[str], set[str]]:
    """Entry event ids of the vehicles parked at `at`, and of the overstays."""
    at = _utc(at)
    visits = pair_visits(
        await _sightings(store, at - store.max_stay - OVERSTAY_LOOKBACK, at), at, store.max_stay
    )
    latest: dict[str, Visit] = {}
    for v in visits:
        latest.setdefault(v.plate_key, v)
    parked = {v.entry.event_id for v in visits if v.status == "parked" and v.entry}
    over = {
        v.entry.event_id
        for v in latest.values()
        if v.status == "no_exit" and at - store.max_stay > v.sort_time and v.entry
    }
    return parked, over


async def stats(store: EventStore, since: datetime, until: datetime, interval: str) -> list[tuple]:
    """(start, entries, exits, avg_stay_s) per bucket, computed as before with pandas."""
    since, until = _utc(since), _utc(until)
    sightings = await _sightings(store, since - store.max_stay, until)
    events = [(s.time, s.type) for s in sightings if s.time >= since]
    stays = [
        (v.exit.time, v.duration_s)
        for v in pair_visits(sightings, until, store.max_stay)
        if v.status == "completed" and v.exit and v.duration_s is not None and v.exit.time >= since
    ]
    freq = {"hour": "h", "day": "D"}[interval]
    tz = store.tz
    start = pd.Timestamp(since).tz_convert(tz).floor(freq, ambiguous=False, nonexistent="shift_backward")
    end = pd.Timestamp(until).tz_convert(tz)
    index = pd.date_range(start, end, freq=freq)
    index = index[index < end]

    def local(times: list[datetime]) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_convert(tz)

    ev = pd.DataFrame({"type": [t for _, t in events]}, index=local([t for t, _ in events]))
    counts = pd.DataFrame(
        {
            "entries": (ev["type"] == "entry").astype(int).resample(freq).sum(),
            "exits": (ev["type"] == "exit").astype(int).resample(freq).sum(),
        }
    )
    counts = (
        counts.reindex(index, fill_value=0)
        if len(counts)
        else pd.DataFrame(0, index=index, columns=["entries", "exits"])
    )
    st = pd.Series([s for _, s in stays], index=local([t for t, _ in stays]), dtype=float)
    mean = st.resample(freq).mean().reindex(index) if len(st) else pd.Series(float("nan"), index=index)
    return [
        (
            ts.to_pydatetime(),
            int(counts.at[ts, "entries"]),
            int(counts.at[ts, "exits"]),
            None if pd.isna(mean.get(ts)) else round(float(mean.get(ts)), 1),
        )
        for ts in index
    ]

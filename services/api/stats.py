"""Entries, exits and average stay per hour or per day of the lot's local time, with pandas."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Literal

import pandas as pd

from services.api.schemas import StatsBucket

Interval = Literal["hour", "day"]
_FREQ = {"hour": "h", "day": "D"}


def bucket_index(since: datetime, until: datetime, interval: Interval, tz: tzinfo) -> pd.DatetimeIndex:
    """The start of every local hour or day from the one holding `since` up to `until` (exclusive)."""
    freq = _FREQ[interval]
    start = pd.Timestamp(since).tz_convert(tz).floor(freq, ambiguous=False, nonexistent="shift_backward")
    end = pd.Timestamp(until).tz_convert(tz)
    index = pd.date_range(start, end, freq=freq)
    return index[index < end]  # `until` is exclusive


def local_index(times: list[datetime], tz: tzinfo) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_convert(tz)


def buckets(
    events: list[tuple[datetime, str]],
    stays: list[tuple[datetime, float]],
    since: datetime,
    until: datetime,
    interval: Interval,
    tz: tzinfo,
) -> list[StatsBucket]:
    """`events`: (aware time, 'entry'|'exit') in [since, until); `stays`: (aware exit time, seconds).
    Every bucket between `since` and `until` is returned, empty ones with zero counts."""
    freq = _FREQ[interval]
    index = bucket_index(since, until, interval, tz)

    ev = pd.DataFrame({"type": [t for _, t in events]}, index=local_index([t for t, _ in events], tz))
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
    st = pd.Series([s for _, s in stays], index=local_index([t for t, _ in stays], tz), dtype=float)
    mean_stay = st.resample(freq).mean().reindex(index) if len(st) else pd.Series(float("nan"), index=index)
    out = []
    for ts in index:
        avg = mean_stay.get(ts)
        out.append(
            StatsBucket(
                start=ts.to_pydatetime(),
                entries=int(counts.at[ts, "entries"]),
                exits=int(counts.at[ts, "exits"]),
                avg_stay_s=None if avg is None or pd.isna(avg) else round(float(avg), 1),
            )
        )
    return out


def sums(
    times: list[datetime],
    columns: dict[str, list[int]],
    since: datetime,
    until: datetime,
    interval: Interval,
    tz: tzinfo,
) -> pd.DataFrame:
    """Integer `columns` (one value per time) summed per local hour or day, empty buckets as 0."""
    index = bucket_index(since, until, interval, tz)
    if not times:
        return pd.DataFrame(0, index=index, columns=list(columns))
    frame = pd.DataFrame(columns, index=local_index(times, tz), dtype="int64")
    return frame.resample(_FREQ[interval]).sum().reindex(index, fill_value=0)

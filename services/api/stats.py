"""Entries, exits and average stay per hour or per day of the lot's local time, with pandas."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Literal

import pandas as pd

from services.api.schemas import StatsBucket

Interval = Literal["hour", "day"]
_FREQ = {"hour": "h", "day": "D"}


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
    start = pd.Timestamp(since).tz_convert(tz).floor(freq, ambiguous=False, nonexistent="shift_backward")
    end = pd.Timestamp(until).tz_convert(tz)
    index = pd.date_range(start, end, freq=freq)
    index = index[index < end]  # `until` is exclusive

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

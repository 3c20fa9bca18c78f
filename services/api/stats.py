"""Entries, exits and average stay per hour or per day of the lot's local time, from hourly counts.

The counts are kept per UTC hour (pairing.py), so local hours and days are sums of whole hours: exact
in every zone whose offset is a whole number of hours; in a zone with a half-hour offset an hour's
counts land in the local hour it began in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Literal

from services.api.schemas import StatsBucket

Interval = Literal["hour", "day"]


def _starts(since: datetime, until: datetime, interval: Interval, tz: tzinfo) -> Iterator[datetime]:
    """Each bucket's start (aware, lot time), from the one holding `since` to the last before `until`."""
    if interval == "hour":
        t = since.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
        while t < until:
            yield t.astimezone(tz)
            t += timedelta(hours=1)
        return
    day = since.astimezone(tz).date()
    while (start := _midnight(day, tz)) < until:
        yield start
        day += timedelta(days=1)


def _midnight(day: date, tz: tzinfo) -> datetime:
    naive = datetime.combine(day, time())
    localize = getattr(tz, "localize", None)  # pytz zones need it; zoneinfo takes tzinfo directly
    return localize(naive) if localize else naive.replace(tzinfo=tz)


def buckets(
    per_hour: dict[datetime, list[float]],
    since: datetime,
    until: datetime,
    interval: Interval,
    tz: tzinfo,
) -> list[StatsBucket]:
    """`per_hour`: naive UTC hour -> [entries, exits, visits ended, their total stay], already limited
    to [since, until). Every bucket in the range is returned, empty ones with zero counts."""
    starts = list(_starts(since, until, interval, tz))
    if not starts:
        return []
    sums = [[0, 0, 0, 0.0] for _ in starts]
    bounds = [s.astimezone(timezone.utc).replace(tzinfo=None) for s in starts]
    for hour, counts in per_hour.items():
        # An hour that began before the first local bucket (half-hour zones) counts in the first.
        total = sums[max(bisect_right(bounds, hour) - 1, 0)]
        for k, v in enumerate(counts):
            total[k] += v
    # Built without validation: thousands of buckets for a year by hour, every value made here.
    return [
        StatsBucket.model_construct(
            start=start,
            entries=int(entries),
            exits=int(exits),
            avg_stay_s=round(stay / ended, 1) if ended else None,
        )
        for start, (entries, exits, ended, stay) in zip(starts, sums, strict=True)
    ]

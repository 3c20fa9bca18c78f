"""Entries, exits and average stay per hour or per day of the lot's local time, from hourly counts.

The counts are kept per UTC hour (pairing.py), so local hours and days are sums of whole hours: exact
in every zone whose offset is a whole number of hours; in a zone with a half-hour offset an hour's
counts land in the local hour it began in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from services.api.schemas import StatsBucket
from services.api.times import utc_offsets

Interval = Literal["hour", "day"]
_BUCKETS = TypeAdapter(list[StatsBucket])
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)


def _starts(since: datetime, until: datetime, interval: Interval, tz: tzinfo) -> Iterator[datetime]:
    """Each bucket's start (aware, lot time), from the one holding `since` to the last before `until`."""
    # zoneinfo converts in C; pytz's per-call lookups cost ~0.1 s for a year of hours.
    zone = ZoneInfo(tz.zone) if isinstance(getattr(tz, "zone", None), str) else tz  # type: ignore[attr-defined]
    if interval == "hour":  # a year is 8,784 hours: the zone's few offsets, not one conversion each
        t = since.astimezone(timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        end = until.astimezone(timezone.utc).replace(tzinfo=None)
        changes = utc_offsets(zone, t, end)
        fixed = {off: timezone(timedelta(seconds=off)) for _, off in changes}
        nxt = [start for start, _ in changes[1:]] + [datetime.max]
        k = 0
        while t < end:
            while t >= nxt[k]:
                k += 1
            off = changes[k][1]
            yield (t + timedelta(seconds=off)).replace(tzinfo=fixed[off])
            t += HOUR
        return
    day = since.astimezone(zone).date()
    while (start := datetime.combine(day, time(), zone)) < until:
        yield start
        day += timedelta(days=1)


class Hours:
    """Numbers per UTC hour, as columns: entry i is the hour `first + hours[i]` hours, `columns[k][i]` its
    k-th number (an hour may appear more than once: its entries add up). A year is 8,784 hours, read and
    summed without an object per hour."""

    def __init__(self, first: datetime, width: int) -> None:
        self.first = first  # naive UTC
        self.hours: list[int] = []
        self.columns: list[list[float]] = [[] for _ in range(width)]

    def add(self, hour: datetime, numbers: Sequence[float]) -> None:
        self.hours.append((hour - self.first) // HOUR)
        for column, value in zip(self.columns, numbers, strict=False):
            column.append(value)

    def totals(self) -> list[float]:
        return [sum(column) for column in self.columns]


def summed(
    hours: Hours, since: datetime, until: datetime, interval: Interval, tz: tzinfo
) -> tuple[list[datetime], list[list[float]]]:
    """The local buckets of [since, until) (aware starts) and, per column of `hours`, its sum in each.
    An hour counts in the bucket its start is in; one that began before the first (the range's first
    part-hour, or in a half-hour zone) counts in the first."""
    starts = list(_starts(since, until, interval, tz))
    if not starts:
        return [], [[] for _ in hours.columns]
    last = len(starts) - 1
    origin = starts[0].astimezone(timezone.utc).replace(tzinfo=None)
    if interval == "hour":
        shift = (hours.first - origin) // HOUR
        index = [min(max(h + shift, 0), last) for h in hours.hours]
    else:  # in minutes from `first`: a local midnight may fall on a half hour
        bounds = [(s.astimezone(timezone.utc).replace(tzinfo=None) - hours.first) // MINUTE for s in starts]
        index = [min(max(bisect_right(bounds, h * 60) - 1, 0), last) for h in hours.hours]
    sums = []
    for column in hours.columns:
        total = [0] * len(starts)
        for i, value in zip(index, column, strict=True):
            total[i] += value
        sums.append(total)
    return starts, sums


def buckets(
    hours: Hours, since: datetime, until: datetime, interval: Interval, tz: tzinfo
) -> list[StatsBucket]:
    """`hours`: [entries, exits, visits ended, their total stay, …] of the hours of [since, until). Every
    bucket in the range is returned, empty ones with zero counts."""
    starts, (entries, exits, ended, stay, *_) = summed(hours, since, until, interval, tz)
    # Validated in one call (in Rust): a year by hour is 8,784 buckets.
    return _BUCKETS.validate_python(
        [
            {"start": start, "entries": e, "exits": x, "avg_stay_s": round(t / n, 1) if n else None}
            for start, e, x, n, t in zip(starts, entries, exits, ended, stay, strict=True)
        ]
    )

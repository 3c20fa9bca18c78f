"""Entries, exits and average stay per hour or per day of the lot's local time, from hourly counts.

The counts are kept per UTC hour (pairing.py), so local hours and days are sums of whole hours: exact
in every zone whose offset is a whole number of hours; in a zone with a half-hour offset an hour's
counts land in the local hour it began in.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter

from services.api.schemas import StatsBucket
from services.api.times import utc_offsets

Interval = Literal["hour", "day"]
_BUCKETS = TypeAdapter(list[StatsBucket])
HOUR = timedelta(hours=1)


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


def _bucketing(
    since: datetime, until: datetime, interval: Interval, tz: tzinfo
) -> tuple[list[datetime], Callable[[datetime], int]]:
    """The buckets' starts, and the index of the bucket a naive UTC hour of [since, until) counts in
    (an hour that began before the first local bucket, in half-hour zones, counts in the first)."""
    starts = list(_starts(since, until, interval, tz))
    if not starts:
        return starts, lambda _hour: 0
    first = starts[0].astimezone(timezone.utc).replace(tzinfo=None)
    last = len(starts) - 1
    if interval == "hour":
        return starts, lambda hour: min(max((hour - first) // HOUR, 0), last)
    bounds = [s.astimezone(timezone.utc).replace(tzinfo=None) for s in starts]  # naive: fast compares
    return starts, lambda hour: min(max(bisect_right(bounds, hour) - 1, 0), last)


def buckets(
    per_hour: dict[datetime, list[float]],
    since: datetime,
    until: datetime,
    interval: Interval,
    tz: tzinfo,
) -> list[StatsBucket]:
    """`per_hour`: naive UTC hour -> [entries, exits, visits ended, their total stay, …], already limited
    to [since, until). Every bucket in the range is returned, empty ones with zero counts."""
    starts, index = _bucketing(since, until, interval, tz)
    sums = [[0, 0, 0, 0.0] for _ in starts]
    for hour, counts in per_hour.items():
        total = sums[index(hour)]
        total[0] += counts[0]
        total[1] += counts[1]
        total[2] += counts[2]
        total[3] += counts[3]
    # Validated in one call (in Rust): a year by hour is 8,784 buckets.
    return _BUCKETS.validate_python(
        [
            {
                "start": start,
                "entries": entries,
                "exits": exits,
                "avg_stay_s": round(stay / ended, 1) if ended else None,
            }
            for start, (entries, exits, ended, stay) in zip(starts, sums, strict=True)
        ]
    )


def sums(
    per_hour: dict[datetime, list[int]],
    names: tuple[str, ...],
    since: datetime,
    until: datetime,
    interval: Interval,
    tz: tzinfo,
) -> list[tuple[datetime, dict[str, int]]]:
    """`per_hour`: naive UTC hour -> integers named `names`, for the hours of [since, until); summed per
    local hour or day. Every bucket of the range is returned, empty ones as 0."""
    starts, index = _bucketing(since, until, interval, tz)
    totals = [[0] * len(names) for _ in starts]
    for hour, values in per_hour.items():
        total = totals[index(hour)]
        for k, v in enumerate(values):
            total[k] += v
    return [(start, dict(zip(names, t, strict=True))) for start, t in zip(starts, totals, strict=True)]

"""Times in and out of the HTTP API: conversion to the lot's zone that cannot fail, and the one type
every time query parameter has (ISO 8601 only, within the range the service can compute with).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

#: Query times outside this range are refused (422): arithmetic around them (a stay, a day's window,
#: pandas' calendar for stats) stays far from datetime's and pandas' limits.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
YEARS = r"^(19[7-9][0-9]|2[01][0-9][0-9])-"  # EARLIEST.year .. LATEST.year - 1
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ].*)?$")
DAY, MINUTE = timedelta(days=1), timedelta(minutes=1)


def to_local(dt: datetime, tz: tzinfo) -> datetime:
    """`dt` (aware, or naive UTC as stored) in the lot's zone; in UTC when the zone's offset would take
    it past year 1 or 9999 (a stored row with an extreme time must still be readable)."""
    aware = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt
    try:
        return aware.astimezone(tz)
    except (OverflowError, ValueError):
        return aware.astimezone(timezone.utc)


def _offset_s(t: datetime, tz: tzinfo) -> int:
    return int((to_local(t, tz).utcoffset() or timedelta()).total_seconds())


def utc_offsets(tz: tzinfo, lo: datetime, hi: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets over [lo, hi] (naive UTC): [(from, seconds)], the first from `lo`'s minute.
    Looked at day by day, each change found to its minute (zones change on whole minutes; near year 1
    and 9999, where to_local falls back to UTC, too)."""
    t, end = lo.replace(second=0, microsecond=0), hi.replace(second=0, microsecond=0)
    out = [(t, _offset_s(t, tz))]
    while t < end:
        nxt = t + DAY if end - t > DAY else end
        if _offset_s(nxt, tz) != out[-1][1]:
            a, b = t, nxt  # a has the old offset, b the new: halve to one minute apart
            while b - a > MINUTE:
                mid = a + (b - a) // MINUTE // 2 * MINUTE
                a, b = (mid, b) if _offset_s(mid, tz) == out[-1][1] else (a, mid)
            out.append((b, _offset_s(b, tz)))
            nxt = b
        t = nxt
    return out


def _iso_only(value: object) -> object:
    # pydantic would read "0.5" or "1700000000" as Unix seconds: a query time is a date, written as one.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected an ISO 8601 date or date-time, e.g. 2026-11-24T08:00:00+01:00")
    return value


def _in_range(value: datetime) -> datetime:
    # The year as written (whatever its offset), so the rule is the one the schema's pattern states.
    if not EARLIEST.year <= value.year < LATEST.year:
        raise ValueError(f"must be from {EARLIEST.year} to {LATEST.year - 1}")
    return value


QueryTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    AfterValidator(_in_range),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": YEARS}),
]

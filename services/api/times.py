"""Times in and out of the HTTP API: conversion to the lot's zone that cannot fail, and the one type
every time query parameter has (ISO 8601 only, within the range the service can compute with).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

#: Query times outside this range are refused (422): arithmetic around them (a stay, a day's window,
#: pandas' calendar for stats) stays far from datetime's and pandas' limits.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)
YEARS = r"^(19[7-9][0-9]|2[01][0-9][0-9])-"  # EARLIEST.year .. LATEST.year - 1
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([Tt ].*)?$")


def to_local(dt: datetime, tz: tzinfo) -> datetime:
    """`dt` (aware, or naive UTC as stored) in the lot's zone; in UTC when the zone's offset would take
    it past year 1 or 9999 (a stored row with an extreme time must still be readable)."""
    aware = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt
    try:
        return aware.astimezone(tz)
    except (OverflowError, ValueError):
        return aware.astimezone(timezone.utc)


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

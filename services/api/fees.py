"""The fee engine. Pure: a rate, a stay and the lot's time zone in, an amount in minor units out.

How a stay is charged (services/api/README.md states it for owners):
- A stay no longer than `grace_minutes` is free; a longer one is charged from its entry.
- Periods of `period_minutes` (real minutes, so a DST change neither adds nor drops one) are counted
  from the entry; every period that starts before the exit costs `period_price`, the first one
  `first_period_price` when set.
- With a night window, the periods that start inside one night window cost `night.price` once,
  together. With `day_price`, the periods that start outside night windows on one lot-local calendar
  day cost `day_price` once, together.
- Each charge counts on the lot-local calendar day its period starts; a day's sum is capped at
  `daily_cap`. Days are the lot's calendar days, so a DST day is 23 or 25 hours long.
Every amount is an int in the currency's minor units; no float is ever involved.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

#: Which plate-list membership changes the rate (contracts: memberships are an input).
STAFF = "staff"
MEMBER = "member"


@dataclass(frozen=True)
class NightWindow:
    start: time  # lot-local wall clock, e.g. 20:00
    end: time  # e.g. 07:00 (the next morning when before `start`)
    price: int


@dataclass(frozen=True)
class Rate:
    grace_minutes: int = 0
    period_minutes: int = 60
    period_price: int = 0
    first_period_price: int | None = None
    daily_cap: int | None = None
    night: NightWindow | None = None
    day_price: int | None = None


@dataclass(frozen=True)
class Tariff:
    currency: str  # ISO 4217
    standard: Rate
    member: Rate | None = None  # plates on the member list; None: the standard rate
    staff_free: bool = True  # plates on the staff list park free

    def rate_for(self, memberships: frozenset[str]) -> Rate | None:
        """The rate a plate with these list memberships pays; None: it parks free."""
        if self.staff_free and STAFF in memberships:
            return None
        if self.member is not None and MEMBER in memberships:
            return self.member
        return self.standard


def fee(
    tariff: Tariff, entry: datetime, end: datetime, tz: ZoneInfo, memberships: frozenset[str] = frozenset()
) -> int:
    """The fee of a stay from `entry` to `end` (its exit, or now for a car inside); both aware."""
    # In UTC: arithmetic between times of one zone object would be wall-clock, blind to DST.
    entry, end = entry.astimezone(timezone.utc), end.astimezone(timezone.utc)
    rate = tariff.rate_for(memberships)
    if rate is None or end - entry <= timedelta(minutes=rate.grace_minutes):
        return 0
    per_day: dict[date, int] = defaultdict(int)
    for day, amount in _charges(rate, entry, end, tz):
        per_day[day] += amount
    cap = rate.daily_cap
    return sum(total if cap is None else min(total, cap) for total in per_day.values())


def _charges(rate: Rate, entry: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[date, int]]:
    """(lot-local day, amount) for each charge: one per period, or one per flat window or day."""
    period = timedelta(minutes=rate.period_minutes)
    out: list[tuple[date, int]] = []
    flat_taken: set[tuple[str, date]] = set()
    for start, stop, night_of in _segments(rate, entry, end, tz):
        first_k = _periods_before(start - entry, period)
        count = _periods_before(stop - entry, period) - first_k
        if count <= 0:
            continue
        day = (entry + first_k * period).astimezone(tz).date()
        if night_of is not None and rate.night is not None:
            flat = ("night", night_of)
            price = rate.night.price
        elif rate.day_price is not None:
            flat = ("day", day)
            price = rate.day_price
        else:
            first = rate.first_period_price if first_k == 0 and rate.first_period_price is not None else None
            if first is not None:
                out.append((day, first))
                count -= 1
            # A segment never spans a local midnight, so all its periods start on `day`.
            out.append((day, count * rate.period_price))
            continue
        if flat not in flat_taken:
            flat_taken.add(flat)
            out.append((day, price))
    return out


def _periods_before(elapsed: timedelta, period: timedelta) -> int:
    """How many periods start before `elapsed` after the entry (periods start at 0, p, 2p, ...)."""
    if elapsed <= timedelta(0):
        return 0
    return -(-elapsed // period)  # ceiling division of timedeltas: an int


def _segments(
    rate: Rate, entry: datetime, end: datetime, tz: ZoneInfo
) -> list[tuple[datetime, datetime, date | None]]:
    """[entry, end) cut at every lot-local midnight and night-window edge: (start, stop, the date the
    night window began, or None by day)."""
    first = entry.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    edges: list[tuple[datetime, str, date]] = []
    day = first
    while day <= last:
        edges.append((_utc(day, time(0), tz), "midnight", day))
        if rate.night is not None:
            night_end_day = day + timedelta(days=1) if rate.night.end <= rate.night.start else day
            edges.append((_utc(day, rate.night.start, tz), "night", day))
            edges.append((_utc(night_end_day, rate.night.end, tz), "day", day))
        day += timedelta(days=1)
    edges.sort(key=lambda e: e[0])
    night_of: date | None = None
    segments = []
    for (at, kind, of), (nxt, _, _) in zip(edges, edges[1:], strict=False):
        if kind == "night":
            night_of = of
        elif kind == "day":
            night_of = None
        lo, hi = max(at, entry), min(nxt, end)
        if lo < hi:
            segments.append((lo, hi, night_of))
    return segments


def _utc(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """A lot-local wall-clock time as UTC (a time skipped by DST is read with the offset before it)."""
    return datetime.combine(day, wall, tzinfo=tz).astimezone(timezone.utc)

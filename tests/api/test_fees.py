"""The fee engine (pure): grace, period boundaries, caps per lot-local day across midnight and DST,
night and day flat rates, list-based rules; properties with Hypothesis."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.api.billing import TICKET_ALPHABET, ticket_id
from services.api.fees import NightWindow, Rate, Tariff, fee

CHICAGO = ZoneInfo("America/Chicago")
HOURLY = Rate(grace_minutes=15, period_minutes=60, period_price=250, daily_cap=1500)
USD = Tariff("USD", HOURLY)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHICAGO)  # type: ignore[misc]


def charge(tariff: Tariff, entry: datetime, minutes: float, lists: frozenset[str] = frozenset()) -> int:
    return fee(tariff, entry, entry + timedelta(minutes=minutes), CHICAGO, lists)


NOON = local(2026, 6, 10, 12, 0)


def test_grace_is_free_and_a_longer_stay_pays_from_its_entry() -> None:
    assert charge(USD, NOON, 0) == 0
    assert charge(USD, NOON, 15) == 0  # exactly the grace: free
    assert charge(USD, NOON, 15.02) == 250  # one second more: the first period, from the entry


def test_every_started_period_is_charged_at_its_boundary() -> None:
    assert charge(USD, NOON, 60) == 250  # one whole period
    assert charge(USD, NOON, 60 + 1 / 60) == 500  # one second into the second
    assert charge(USD, NOON, 120) == 500
    first = Tariff("USD", Rate(period_minutes=30, period_price=100, first_period_price=400))
    assert charge(first, NOON, 30) == 400
    assert charge(first, NOON, 31) == 500
    assert charge(first, NOON, 95) == 700


def test_daily_cap_applies_per_lot_day_across_midnight() -> None:
    evening = local(2026, 6, 10, 18, 0)
    # 18:00 -> 10:00 next day: 6 periods before midnight (1500 cap not reached: 6 x 250 = 1500),
    # 10 after it (2500, capped at 1500).
    assert charge(USD, evening, 16 * 60) == 1500 + 1500
    # Three whole days inside, each capped.
    assert charge(USD, local(2026, 6, 10, 0, 0), 72 * 60) == 3 * 1500
    # A period that straddles midnight counts on the day it starts.
    late = local(2026, 6, 10, 23, 30)
    assert charge(USD, late, 60) == 250


def test_daily_cap_follows_the_lot_calendar_across_dst_changes() -> None:
    hourly = Tariff("USD", Rate(period_minutes=60, period_price=100, daily_cap=2400))
    # 2026-03-08 in Chicago has 23 hours: a whole local day is 23 periods, under the 24-period cap.
    spring = local(2026, 3, 8, 0, 0)
    assert fee(hourly, spring, local(2026, 3, 9, 0, 0), CHICAGO) == 2300
    # 2026-11-01 has 25 hours: 25 periods, capped at 24.
    autumn = local(2026, 11, 1, 0, 0)
    assert fee(hourly, autumn, local(2026, 11, 2, 0, 0), CHICAGO) == 2400
    # Periods are real minutes: 02:00 doesn't exist on the spring day, 3 h from 00:30 is 04:30 local.
    assert fee(hourly, local(2026, 3, 8, 0, 30), local(2026, 3, 8, 4, 30), CHICAGO) == 300


def test_night_window_is_one_flat_price_and_its_charge_counts_on_the_evening() -> None:
    night = Tariff(
        "USD",
        Rate(period_minutes=60, period_price=300, daily_cap=2000, night=NightWindow(time(20), time(7), 800)),
    )
    # 18:00 -> 08:00: 18-19, 19-20 by day (600), the night 20:00-07:00 flat (800), 07-08 next day (300).
    assert charge(night, local(2026, 6, 10, 18, 0), 14 * 60) == 600 + 800 + 300
    # Entering at 01:00 inside the window: the night's flat price once, then 07:00-09:00 by day.
    assert charge(night, local(2026, 6, 11, 1, 0), 8 * 60) == 800 + 600


def test_flat_day_price_once_per_lot_day() -> None:
    day = Tariff("USD", Rate(period_minutes=60, period_price=300, day_price=1200))
    assert charge(day, NOON, 30) == 1200
    assert charge(day, NOON, 6 * 60) == 1200
    assert charge(day, local(2026, 6, 10, 22, 0), 4 * 60) == 2400  # two lot days touched


def test_staff_park_free_and_members_use_their_rate() -> None:
    members = Tariff("USD", HOURLY, member=Rate(period_minutes=60, period_price=100))
    assert charge(members, NOON, 180, frozenset({"staff"})) == 0
    assert charge(members, NOON, 180, frozenset({"member"})) == 300
    assert charge(members, NOON, 180, frozenset({"watch"})) == 750
    paying_staff = Tariff("USD", HOURLY, staff_free=False)
    assert charge(paying_staff, NOON, 180, frozenset({"staff"})) == 750


def test_ticket_ids_are_short_stable_and_unambiguous() -> None:
    key = "5f0c7a57-3b9e-4a54-9a39-93a70e3c1f11"
    tid = ticket_id(key)
    assert tid == ticket_id(key) and len(tid) == 9 and tid[4] == "-"
    assert set(tid.replace("-", "")) <= set(TICKET_ALPHABET)
    assert not set("ILOU") & set(TICKET_ALPHABET)
    assert ticket_id("5f0c7a57-3b9e-4a54-9a39-93a70e3c1f12") != tid


# -- properties ------------------------------------------------------------------------------------------
ZONES = st.sampled_from([CHICAGO, ZoneInfo("Europe/Berlin"), ZoneInfo("Australia/Lord_Howe")])
RATES = st.builds(
    Rate,
    grace_minutes=st.integers(0, 60),
    period_minutes=st.integers(1, 240),
    period_price=st.integers(0, 5000),
    first_period_price=st.none() | st.integers(0, 5000),
    daily_cap=st.none() | st.integers(0, 20000),
    night=st.none()
    | st.builds(
        NightWindow,
        start=st.sampled_from([time(20), time(22, 30), time(0), time(2, 15)]),
        end=st.sampled_from([time(6), time(7, 45), time(23)]),
        price=st.integers(0, 3000),
    ),
    day_price=st.none() | st.integers(0, 5000),
)
# Around both 2026 DST changes of each zone sampled, and ordinary days.
ENTRIES = st.datetimes(
    min_value=datetime(2026, 3, 6), max_value=datetime(2026, 11, 3), timezones=st.just(timezone.utc)
)
STAYS = st.integers(0, 4 * 24 * 60 * 60)


@given(RATES, ZONES, ENTRIES, STAYS, STAYS)
def test_fee_never_falls_as_the_exit_comes_later(
    rate: Rate, tz: ZoneInfo, entry: datetime, a: int, b: int
) -> None:
    tariff = Tariff("USD", rate)
    short, long = sorted((a, b))
    assert fee(tariff, entry, entry + timedelta(seconds=short), tz) <= fee(
        tariff, entry, entry + timedelta(seconds=long), tz
    )


@given(RATES, ZONES, ENTRIES, STAYS)
def test_fee_is_zero_within_grace_and_never_above_the_daily_caps(
    rate: Rate, tz: ZoneInfo, entry: datetime, stay: int
) -> None:
    tariff = Tariff("USD", rate)
    end = entry + timedelta(seconds=stay)
    amount = fee(tariff, entry, end, tz)
    assert isinstance(amount, int) and amount >= 0
    if stay <= rate.grace_minutes * 60:
        assert amount == 0
    if rate.daily_cap is not None:
        days = (end.astimezone(tz).date() - entry.astimezone(tz).date()).days + 1
        assert amount <= rate.daily_cap * days


@pytest.mark.parametrize("zone", ["America/Chicago", "Europe/Berlin"])
def test_a_whole_day_without_caps_charges_each_period_once(zone: str) -> None:
    tz = ZoneInfo(zone)
    start = datetime(2026, 7, 1, 0, 0, tzinfo=tz)
    flat = Tariff("EUR", Rate(period_minutes=15, period_price=10))
    assert fee(flat, start, start + timedelta(hours=24), tz) == 96 * 10

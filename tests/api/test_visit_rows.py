"""Visit rows and roll-ups kept at ingest answer exactly as pairing every range did (records_oracle),
whatever order events arrive in; late, voided and re-plated events leave visits and roll-ups right."""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, inspect, select, text

from anpr.messages import EventType
from services.api import exports, pairing
from services.api import stats as stats_mod
from services.api.db import migrate
from services.api.models import Event, HourlyStats, SightingRow, VisitRow
from services.api.runtime import Runtime
from services.api.store import EventFilter, EventStore
from services.api.times import to_local, utc_offsets
from tests.api import records_oracle as oracle
from tests.api.conftest import Api, Clock, event

pytestmark = pytest.mark.anyio
IN, OUT = EventType.ENTRY, EventType.EXIT


def _fill(now: datetime, n: int, seed: int) -> list:
    """`n` events over 12 days of 25 plates: pairs, lost entries and exits, long stays, equal times."""
    rng = random.Random(seed)
    plates = [f"RW{i:03d}X" for i in range(25)]
    start = now - timedelta(days=12)
    events = []
    for _ in range(n):
        at = start + timedelta(minutes=rng.randrange(0, 12 * 24 * 60))
        events.append(event(rng.choice(plates), rng.choice([IN, OUT]), at))
    # Two events at the same instant: pairing breaks the tie by arrival (primary key).
    events.append(event(plates[0], IN, start + timedelta(hours=30)))
    events.append(event(plates[0], OUT, start + timedelta(hours=30)))
    rng.shuffle(events)  # arrival order is not time order: most events arrive "late"
    return events


async def _visits(store: EventStore, since: datetime, until: datetime) -> list[tuple]:
    page = await store.visit_page(since, until, None, limit=10**6, offset=0)
    keys = {e.event_id: e.plate_index for e in await _all_events(store)}
    return [
        (
            keys[str(v.entry_event_id or v.exit_event_id)],
            v.status,
            str(v.entry_event_id) if v.entry_event_id else None,
            str(v.exit_event_id) if v.exit_event_id else None,
            v.duration_s,
        )
        for v in page.items
    ]


async def _all_events(store: EventStore) -> list[Event]:
    async with store.sf() as s:
        return list(await s.scalars(select(Event)))


async def _assert_same_as_oracle(store: EventStore, clock: Clock) -> None:
    now = clock()
    for since, until in [
        (now - timedelta(days=13), now),
        (now - timedelta(days=5, minutes=17), now - timedelta(days=2, minutes=3)),
    ]:
        assert sorted(await _visits(store, since, until), key=repr) == sorted(
            await oracle.visits(store, since, until, now), key=repr
        )
        for interval in ("hour", "day"):
            got = await store.stats(since, until, interval)
            want = await oracle.stats(store, since, until, interval)
            assert [(b.start, b.entries, b.exits, b.avg_stay_s) for b in got.buckets] == want
    for at in [now, now - timedelta(days=1, minutes=7), now - timedelta(days=4, hours=5)]:
        occ = await store.occupancy(at)
        parked, over = await oracle.occupancy(store, at)
        assert {str(v.entry_event_id) for v in occ.vehicles} == parked and occ.count == len(parked)
        assert {str(v.entry_event_id) for v in occ.overstays} == over


async def test_rows_answer_as_pairing_every_range_did(runtime: Runtime, clock: Clock) -> None:
    events = _fill(clock(), 400, seed=16)
    for e in events:
        assert await runtime.store.ingest(e)
    async with runtime.sf() as s:
        assert await s.scalar(select(pairing.HourlyStats.hour).limit(1)) is not None
    await _assert_same_as_oracle(runtime.store, clock)


async def test_an_exit_before_its_entry_pairs_when_the_entry_arrives(runtime: Runtime, clock: Clock) -> None:
    t = clock() - timedelta(hours=3)
    store = runtime.store
    await store.ingest(event("LATE01", OUT, t + timedelta(minutes=45)))
    page = await store.visit_page(t - timedelta(hours=1), clock(), None, 50, 0)
    assert [v.status for v in page.items] == ["no_entry"]
    await store.ingest(event("LATE01", IN, t))
    page = await store.visit_page(t - timedelta(hours=1), clock(), None, 50, 0)
    assert [(v.status, v.duration_s) for v in page.items] == [("completed", 45 * 60)]
    stats = await store.stats(t - timedelta(hours=1), clock(), "hour")
    assert sum(b.entries for b in stats.buckets) == 1 and sum(b.exits for b in stats.buckets) == 1
    assert [b.avg_stay_s for b in stats.buckets if b.avg_stay_s] == [45 * 60]
    await _assert_same_as_oracle(store, clock)


async def test_migration_builds_rows_for_a_database_of_the_previous_schema(
    runtime: Runtime, clock: Clock
) -> None:
    for e in _fill(clock(), 150, seed=3):
        await runtime.store.ingest(e)
    await migrate(runtime.engine, "0003", downgrade=True)  # events as today's schema holds them
    async with runtime.engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert "visits" not in names and "events" in names
    await migrate(runtime.engine)
    await _assert_same_as_oracle(runtime.store, clock)


def _sheet_time(iso: str | None) -> str:
    """An API time (lot-local, with offset) as the CSV prints it."""
    return (
        datetime.fromisoformat(iso).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds") if iso else ""
    )


def _visit_cells(v: dict) -> list[str]:
    stay, fee, billing = v["duration_s"], v["billing"]["fee"], v["billing"]
    fee_cells = (
        [str(fee["amount"]), fee["currency"], "yes" if fee["final"] else "no"] if fee else ["", "", ""]
    )
    return [
        v["plate"],
        v["status"],
        _sheet_time(v["entry_time"]),
        _sheet_time(v["exit_time"]),
        "" if stay is None else f"{stay:.0f}",
        "" if stay is None else f"{round(stay / 60) // 60}:{round(stay / 60) % 60:02d}",
        v["entry_camera"] or "",
        v["exit_camera"] or "",
        v["entry_event_id"] or "",
        v["exit_event_id"] or "",
        billing["ticket_id"],
        *fee_cells,
        billing["payment"]["status"],
    ]


async def test_exports_print_what_the_pages_show(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cell of both exports equals the JSON pages' answer (plates as corrected, fees final and
    so far, payments, lot-local times), over chunk borders with equal times across them."""
    monkeypatch.setattr(exports, "CHUNK", 3)  # several pages for a handful of rows
    owner = await api.new_client()
    headers = await api.session(owner)
    tariff = {"currency": "USD", "standard": {"grace_minutes": 10, "period_price": 150}}
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=tariff)).status_code == 201
    api.clock.advance(minutes=1)
    t = api.clock()
    ids = []
    for i in range(8):  # equal times across chunk borders too
        ev = event(
            f"EXP{i % 3}00", IN if i < 4 else OUT, t + timedelta(minutes=i // 2), camera=f"gate-{i % 2}"
        )
        assert await api.runtime.store.ingest(ev)
        ids.append(str(ev.event_id))
    entry, misread = (
        event("EXP500", IN, t + timedelta(minutes=10)),
        event("EXP590", OUT, t + timedelta(hours=1)),
    )
    for ev in (entry, misread, event("PARKED1", IN, t + timedelta(minutes=30))):  # PARKED1 stays
        assert await api.runtime.store.ingest(ev)
    api.clock.advance(hours=2)
    headers = await api.session(owner)
    await api.runtime.corrections.correct_plate(misread.event_id, "EXP500", "owner")
    paid = await api.http.put(f"/api/v1/payments/{entry.event_id}", headers=headers, json={"status": "paid"})
    assert paid.status_code == 200, paid.text
    since = {"since": (t - timedelta(hours=1)).isoformat()}

    async def sheet(name: str) -> list[list[str]]:
        resp = await api.http.get(f"/api/v1/export/{name}", params=since, headers=headers)
        assert resp.status_code == 200, resp.text
        return list(csv.reader(io.StringIO(resp.text)))[1:]

    events = (await api.http.get("/api/v1/events", params=since | {"limit": 50}, headers=headers)).json()
    assert await sheet("events.csv") == [
        [
            e["event_id"],
            e["type"],
            e["plate"],
            f"{e['confidence']:.3f}",
            e["camera"],
            *(_sheet_time(e[k]) for k in ("time", "first_seen", "last_seen")),
            e["vehicle_class"],
            str(e["read_count"]),
        ]
        for e in events["items"]
    ]
    visits = (await api.http.get("/api/v1/visits", params=since | {"limit": 50}, headers=headers)).json()
    assert await sheet("visits.csv") == [_visit_cells(v) for v in visits["items"]]
    cells = {(v["plate"], v["status"]) for v in visits["items"]}
    assert {("EXP500", "completed"), ("PARKED1", "parked")} <= cells  # the corrected exit paired
    fees = [v["billing"]["fee"] for v in visits["items"] if v["billing"]["fee"]]
    assert any(f["final"] for f in fees) and any(not f["final"] for f in fees)
    assert "paid" in {v["billing"]["payment"]["status"] for v in visits["items"]}


def test_sheet_offsets_follow_the_zone_through_its_changes() -> None:
    """The offsets the export hands the database equal converting each time: DST in Chicago, a
    half-hour zone whose change falls at half past a UTC hour (St John's), the edges of the calendar."""
    cases = [
        ("America/Chicago", datetime(2026, 3, 7), datetime(2026, 11, 3)),
        ("America/St_Johns", datetime(2026, 10, 30, 7, 13), datetime(2026, 11, 2)),
        ("Pacific/Kiritimati", datetime(9999, 12, 30), datetime(9999, 12, 31, 23, 59)),  # UTC+14
        ("America/Chicago", datetime(1, 1, 1), datetime(1, 1, 2)),
    ]
    for zone, lo, hi in cases:
        tz = ZoneInfo(zone)
        segments = utc_offsets(tz, lo, hi)
        assert segments[0][0] <= lo and len(segments) < 8
        t = lo
        while t <= hi:
            held = [off for start, off in segments if start <= t][-1]
            assert t + timedelta(seconds=held) == to_local(t, tz).replace(tzinfo=None), (zone, t)
            t += timedelta(minutes=7, seconds=13)


async def _stored_rows(runtime: Runtime) -> tuple[list, list]:
    async with runtime.sf() as s:
        visits = (
            await s.execute(
                select(
                    VisitRow.plate_index,
                    VisitRow.entry_pk,
                    VisitRow.exit_pk,
                    VisitRow.start_time,
                    VisitRow.open_until,
                    VisitRow.duration_s,
                )
            )
        ).all()
        hours = (await s.execute(select(HourlyStats).order_by(HourlyStats.hour))).scalars().all()
    nonzero = [
        (h.hour, h.entries, h.exits, h.visits_ended, round(h.stay_s, 3))
        for h in hours
        if h.entries or h.exits or h.visits_ended
    ]
    return sorted(visits, key=repr), nonzero


async def test_bursts_store_the_rows_one_by_one_ingest_would(runtime: Runtime, clock: Clock) -> None:
    events = _fill(clock(), 400, seed=5)
    rng = random.Random(5)
    stored, i = 0, 0
    while i < len(events):
        size = rng.choice([1, 2, 7, 40, 90])
        burst = events[i : i + size] + rng.sample(events[: i + 1], k=min(2, i + 1))  # and some repeats
        stored += await runtime.store.ingest_many(burst)
        i += size
    assert stored == len(events)
    assert await runtime.store.ingest_many(events[:30]) == 0
    batched = await _stored_rows(runtime)
    # The same rows paired from scratch, as the migration does for a whole table at once.
    async with runtime.engine.begin() as conn:
        for model in (VisitRow, HourlyStats, SightingRow):
            await conn.execute(delete(model))
        await conn.run_sync(pairing.rebuild, runtime.store.max_stay)
    assert await _stored_rows(runtime) == batched and batched[0]
    await _assert_same_as_oracle(runtime.store, clock)


async def test_event_totals_from_the_rollups_equal_counting_the_rows(runtime: Runtime, clock: Clock) -> None:
    """The events page's total (whole hours from the roll-ups, part-hours from the rows) for open and
    closed ranges, within one hour, by type, and after a voided event."""
    store, now = runtime.store, clock()
    events = _fill(now, 200, seed=8)
    assert await store.ingest_many(events) == len(events)
    voided = events[7]
    await runtime.corrections.void(voided.event_id, True, "owner")
    kept = [e for e in events if e is not voided]
    t = now - timedelta(days=6, minutes=13, seconds=5)
    ranges = [
        (None, None),
        (t, None),
        (None, t),
        (t - timedelta(days=3, minutes=41), t),
        (t, t + timedelta(minutes=30)),  # within one hour
        (
            t.replace(minute=0, second=0, microsecond=0),
            t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=5),
        ),
    ]
    for since, until in ranges:
        for kind in (None, "entry", "exit"):
            f = EventFilter(plate=None, type=kind, camera=None, since=since, until=until)
            want = [
                e
                for e in kept
                if (since is None or e.time >= since)
                and (until is None or e.time < until)
                and (kind is None or e.type.value == kind)
            ]
            _, total = await store.search(f, limit=1, offset=0)
            assert total == len(want), (since, until, kind)


def test_hourly_buckets_start_where_converting_each_hour_would() -> None:
    """A year's hour buckets come from the zone's few offsets: equal to converting every hour."""
    for zone in ("America/Chicago", "America/St_Johns", "Asia/Kolkata"):
        tz = ZoneInfo(zone)
        since = datetime(2026, 1, 1, 5, 17, tzinfo=timezone.utc)
        until = datetime(2026, 12, 31, 23, 0, tzinfo=timezone.utc)
        hour = since.replace(minute=0)
        want = []
        while hour < until:
            want.append(hour.astimezone(tz))
            hour += timedelta(hours=1)
        got = list(stats_mod._starts(since, until, "hour", tz))
        assert [(g.isoformat(), g.utcoffset()) for g in got] == [(w.isoformat(), w.utcoffset()) for w in want]


async def test_rollups_read_row_by_row_when_the_server_cuts_the_packed_string(
    runtime: Runtime, clock: Clock
) -> None:
    """MariaDB cuts group_concat at group_concat_max_len: the roll-ups are then read row by row, equal."""
    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite's group_concat has no length limit")
    assert await runtime.store.ingest_many(_fill(clock(), 300, seed=4))
    first, last = pairing.whole_hours(clock() - timedelta(days=13), clock())
    async with runtime.sf() as s:
        packed = await pairing.rolled_up(s, first, last)
        await s.execute(text("SET SESSION group_concat_max_len = 256"))
        rows = await pairing.rolled_up(s, first, last)

    def table(hours: stats_mod.Hours) -> list[tuple]:
        return sorted(zip(hours.hours, *hours.columns, strict=True))

    assert len(packed.hours) > 50 and table(rows) == table(packed)

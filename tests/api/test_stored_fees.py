"""Fees kept on visit rows (SQLite and MariaDB): revenue summed from them equals every completed visit
charged per request by the fee engine, after a tariff change, a late entry, a corrected plate, a void
and payments; and migration 0008 charges the rows stored before it."""

from __future__ import annotations

import bisect
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select

from anpr.messages import EventType
from services.api.db import as_utc, migrate
from services.api.fee_schemas import TariffRules
from services.api.fees import fee
from services.api.models import HourlyStats, Payment, TariffVersion, VisitRow
from services.api.stored_fees import FEE_COLUMNS
from tests.api.conftest import Api, event

pytestmark = pytest.mark.anyio
IN, OUT = EventType.ENTRY, EventType.EXIT


def hourly(price: int, **more: object) -> dict:
    return {"currency": "USD", "standard": {"grace_minutes": 10, "period_price": price, **more}}


async def store(api: Api, plate: str, kind: EventType, at: datetime) -> str:
    ev = event(plate, kind, at)
    assert await api.runtime.store.ingest(ev)
    return str(ev.event_id)


async def charged_per_request(api: Api, since: datetime, until: datetime) -> dict[str, int]:
    """The former way: every completed visit that ended in the range charged now by the fee engine."""
    tz = ZoneInfo(str(api.runtime.billing.tz))
    async with api.runtime.sf() as s:
        versions = list(await s.scalars(select(TariffVersion).order_by(TariffVersion.effective_from)))
        payments = {p.visit_key: p for p in await s.scalars(select(Payment))}
    starts = [as_utc(v.effective_from) for v in versions]
    totals = dict.fromkeys(("charged", "paid", "waived", "unpaid"), 0)
    for v in await api.runtime.store.visits_ended(since, until):
        assert v.entry_time is not None and v.exit_time is not None
        at = bisect.bisect_right(starts, v.entry_time) - 1
        if at < 0:
            continue
        amount = fee(
            TariffRules.model_validate_json(versions[at].rules).tariff(), v.entry_time, v.exit_time, tz
        )
        p = payments.get(str(v.entry_event_id))
        paid = (p.amount or 0) if p and p.status == "paid" else 0
        waived = p is not None and p.status == "waived"
        totals["charged"] += amount
        totals["paid"] += paid
        totals["waived"] += amount if waived else 0
        totals["unpaid"] += 0 if waived else max(amount - paid, 0)
    return totals


async def test_revenue_from_stored_fees_equals_charging_each_visit(api: Api) -> None:
    owner = await api.new_client("owner")
    headers = await api.session(owner)
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=hourly(200))).status_code == 201
    api.clock.advance(minutes=1)
    t0 = api.clock()
    keys = {}
    for i in range(6):
        keys[f"A{i}"] = await store(api, f"PLATE{i}", IN, t0 + timedelta(minutes=7 * i))
    await store(api, "PLATE0", OUT, t0 + timedelta(hours=3))
    await store(api, "PLATE1", OUT, t0 + timedelta(hours=1, minutes=40))
    misread = await store(api, "PLATE2X", OUT, t0 + timedelta(hours=2))  # PLATE2's exit, misread
    void_me = await store(api, "PLATE3", OUT, t0 + timedelta(minutes=50))
    api.clock.advance(hours=4)
    headers = await api.session(owner)
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=hourly(700))).status_code == 201
    api.clock.advance(minutes=1)
    t1 = api.clock()
    await store(api, "LATE1", OUT, t1 + timedelta(hours=2))  # the exit arrives before its entry
    keys["LATE"] = await store(api, "LATE1", IN, t1)
    await store(api, "PLATE4", OUT, t1 + timedelta(hours=1))  # entered under version 1, pays it
    await store(api, "PLATE5", OUT, t1 + timedelta(minutes=30))

    corrections = api.runtime.corrections
    await corrections.correct_plate(uuid.UUID(misread), "PLATE2", "owner")
    await corrections.void(uuid.UUID(void_me), True, "owner")
    api.clock.advance(hours=3)
    headers = await api.session(owner)
    for key, status in ((keys["A0"], "paid"), (keys["LATE"], "paid"), (keys["A4"], "waived")):
        resp = await api.http.put(f"/api/v1/payments/{key}", headers=headers, json={"status": status})
        assert resp.status_code == 200, resp.text

    since, until = t0 - timedelta(days=1), api.clock()
    params = {"interval": "hour", "since": since.isoformat(), "until": until.isoformat()}
    got = (await api.http.get("/api/v1/revenue", headers=headers, params=params)).json()
    want = await charged_per_request(api, since, until)
    assert {k: got[k] for k in want} == want
    assert want["charged"] > 0 and want["paid"] > 0 and want["waived"] > 0 and want["unpaid"] > 0
    for name in want:
        assert sum(b[name] for b in got["buckets"]) == got[name]
    # The corrected exit completed PLATE2's visit under version 1; the voided one left PLATE3 without fee.
    page = await api.http.get("/api/v1/visits", headers=headers, params={"since": since.isoformat()})
    by_plate = {v["plate"]: v for v in page.json()["items"]}
    assert by_plate["PLATE2"]["billing"]["fee"] == {
        "amount": 400,
        "currency": "USD",
        "tariff_version": 1,
        "final": True,
    }
    assert by_plate["PLATE3"]["status"] != "completed"
    assert by_plate["LATE1"]["billing"]["fee"]["amount"] == 2 * 700


async def test_migrations_0008_0009_charge_and_roll_up_the_visits_stored_before_them(api: Api) -> None:
    owner = await api.new_client("owner")
    headers = await api.session(owner)
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=hourly(300))).status_code == 201
    api.clock.advance(minutes=1)
    t0 = api.clock()
    for i in range(4):
        await store(api, f"MIG{i}", IN, t0 + timedelta(minutes=i))
        await store(api, f"MIG{i}", OUT, t0 + timedelta(minutes=40 * i + 5))
    fees = select(VisitRow.entry_pk, *(getattr(VisitRow, c) for c in FEE_COLUMNS)).order_by(VisitRow.entry_pk)
    async with api.runtime.sf() as s:
        paired = (await s.execute(fees)).all()
    assert [f[1] for f in paired] == [0, 300, 600, 900]  # MIG0 within grace
    rollups = select(HourlyStats.hour, HourlyStats.charged).where(HourlyStats.charged != 0)
    async with api.runtime.sf() as s:
        rolled = (await s.execute(rollups.order_by(HourlyStats.hour))).all()
    assert sum(c for _, c in rolled) == 1800
    await migrate(api.runtime.engine, "0007", downgrade=True)
    async with api.runtime.engine.connect() as conn:
        columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("visits")})
    assert not columns & set(FEE_COLUMNS)
    await migrate(api.runtime.engine)  # 0008 charges the visits, 0009 rolls their fees up per hour
    async with api.runtime.sf() as s:
        assert (await s.execute(fees)).all() == paired
        assert (await s.execute(rollups.order_by(HourlyStats.hour))).all() == rolled

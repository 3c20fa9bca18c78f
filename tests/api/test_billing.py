"""Fees through the API (SQLite and MariaDB): tariff versions and the entry rule, fees in the visits
list and its export, tickets, the paid / waived flow, revenue."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from anpr.messages import EventType
from tests.api.conftest import Api, event

pytestmark = pytest.mark.anyio
IN, OUT = EventType.ENTRY, EventType.EXIT


def hourly(price: int, **more: object) -> dict:
    return {"currency": "USD", "standard": {"grace_minutes": 10, "period_price": price, **more}}


async def store(api: Api, plate: str, kind: EventType, at: datetime) -> str:
    ev = event(plate, kind, at)
    assert await api.runtime.store.ingest(ev)
    return str(ev.event_id)


async def visits(api: Api, headers: dict[str, str], since: datetime) -> dict[str, dict]:
    resp = await api.http.get("/api/v1/visits", headers=headers, params={"since": since.isoformat()})
    assert resp.status_code == 200, resp.text
    return {v["plate"]: v for v in resp.json()["items"]}


async def test_a_visit_pays_the_tariff_in_effect_at_its_entry(api: Api) -> None:
    owner = await api.new_client("owner")
    headers = await api.session(owner)
    t0 = api.clock()
    resp = await api.http.post("/api/v1/tariffs", headers=headers, json=hourly(200, daily_cap=1000))
    assert resp.status_code == 201, resp.text
    v1 = resp.json()
    assert v1["created_by"] == "owner" and v1["standard"]["period_minutes"] == 60

    api.clock.advance(minutes=1)
    early = api.clock()
    await store(api, "EARLY1", IN, early)  # enters under version 1 ...
    await store(api, "SHORT1", IN, early)
    await store(api, "SHORT1", OUT, early + timedelta(minutes=9))  # within grace
    await store(api, "INSIDE1", IN, early)
    api.clock.advance(hours=2)
    headers = await api.session(owner)  # sessions idle out after 30 min
    resp = await api.http.post("/api/v1/tariffs", headers=headers, json=hourly(500))
    assert resp.status_code == 201, resp.text
    v2 = resp.json()
    api.clock.advance(minutes=1)
    late = api.clock()
    await store(api, "LATE1", IN, late)  # ... this one under version 2
    api.clock.advance(minutes=90)
    await store(api, "EARLY1", OUT, api.clock())  # ... and leaves after the change
    await store(api, "LATE1", OUT, api.clock())

    headers = await api.session(owner)
    got = await visits(api, headers, t0 - timedelta(hours=1))
    early_fee = got["EARLY1"]["billing"]["fee"]
    # 3 h 32 min under version 1: 4 started periods of 2.00, whatever version 2 says.
    assert early_fee == {"amount": 800, "currency": "USD", "tariff_version": v1["version"], "final": True}
    assert got["LATE1"]["billing"]["fee"]["amount"] == 2 * 500
    assert got["LATE1"]["billing"]["fee"]["tariff_version"] == v2["version"]
    assert got["SHORT1"]["billing"]["fee"]["amount"] == 0
    inside = got["INSIDE1"]["billing"]["fee"]
    assert inside["final"] is False and inside["amount"] == 800  # so far: 3 h 32 min, version 1
    assert all(v["billing"]["payment"]["status"] == "unpaid" for v in got.values())

    listed = (await api.http.get("/api/v1/tariffs", headers=headers)).json()
    assert [t["version"] for t in listed] == [v2["version"], v1["version"]]


async def test_tariff_changes_never_reach_back_and_keep_the_currency(api: Api) -> None:
    headers = await api.session(await api.new_client())
    past = (api.clock() - timedelta(hours=1)).isoformat()
    resp = await api.http.post(
        "/api/v1/tariffs", headers=headers, json=hourly(200) | {"effective_from": past}
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "effective_from"]
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=hourly(200))).status_code == 201
    euros = hourly(200) | {"currency": "EUR"}
    resp = await api.http.post("/api/v1/tariffs", headers=headers, json=euros)
    assert resp.status_code == 422 and "stays USD" in resp.json()["detail"][0]["msg"]
    for bad in (
        hourly(-1),
        hourly(1.5),
        hourly(200) | {"currency": "usd"},
        hourly(200, night={"start": "20:00", "end": "20:00", "price": 100}),
        hourly(200) | {"extra": 1},
    ):
        assert (await api.http.post("/api/v1/tariffs", headers=headers, json=bad)).status_code == 422, bad
    assert len((await api.http.get("/api/v1/tariffs", headers=headers)).json()) == 1


async def test_ticket_then_paid_and_waived_recorded_with_client_and_time(api: Api) -> None:
    owner = await api.new_client("owner")
    headers = await api.session(owner)
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=hourly(300))).status_code == 201
    api.clock.advance(minutes=1)
    start = api.clock()
    paid_key = await store(api, "PAY1", IN, start)
    await store(api, "PAY1", OUT, start + timedelta(minutes=70))
    waived_key = await store(api, "WAIVE1", IN, start)
    await store(api, "WAIVE1", OUT, start + timedelta(minutes=20))
    lone_exit = await store(api, "LONE1", OUT, start + timedelta(minutes=5))
    api.clock.advance(hours=2)
    headers = await api.session(owner)

    ticket = await api.http.get(f"/api/v1/tickets/{paid_key}", headers=headers)
    assert ticket.status_code == 200, ticket.text
    t = ticket.json()
    assert t["visit"]["plate"] == "PAY1" and t["timezone"] == "America/Chicago"
    assert t["visit"]["entry_time"].endswith(("-06:00", "-05:00"))  # lot time, with its offset
    assert t["tariff"]["version"] == t["visit"]["billing"]["fee"]["tariff_version"]
    assert t["visit"]["billing"]["fee"]["amount"] == 600
    assert len(t["visit"]["billing"]["ticket_id"]) == 9

    at = api.clock()
    resp = await api.http.put(f"/api/v1/payments/{paid_key}", headers=headers, json={"status": "paid"})
    assert resp.status_code == 200, resp.text
    payment = resp.json()["billing"]["payment"]
    assert payment["status"] == "paid" and payment["amount"] == 600 and payment["currency"] == "USD"
    assert payment["set_by"] == "owner"
    assert datetime.fromisoformat(payment["set_at"]) == at
    resp = await api.http.put(f"/api/v1/payments/{waived_key}", headers=headers, json={"status": "waived"})
    assert resp.json()["billing"]["payment"]["status"] == "waived"

    # An exit without entry has no fee: it can be waived, not paid.
    resp = await api.http.put(f"/api/v1/payments/{lone_exit}", headers=headers, json={"status": "paid"})
    assert resp.status_code == 409 and "waive" in resp.json()["detail"]
    unknown = uuid.uuid4()
    assert (await api.http.get(f"/api/v1/tickets/{unknown}", headers=headers)).status_code == 404
    resp = await api.http.put(f"/api/v1/payments/{unknown}", headers=headers, json={"status": "paid"})
    assert resp.status_code == 404
    bad = await api.http.put(f"/api/v1/payments/{paid_key}", headers=headers, json={"status": "stolen"})
    assert bad.status_code == 422

    since = (start - timedelta(hours=1)).isoformat()
    got = await visits(api, headers, start - timedelta(hours=1))
    assert got["PAY1"]["billing"]["payment"]["status"] == "paid"
    assert got["LONE1"]["billing"]["fee"] is None

    export = await api.http.get("/api/v1/export/visits.csv", headers=headers, params={"since": since})
    rows = {r["plate"]: r for r in csv.DictReader(io.StringIO(export.text))}
    assert rows["PAY1"]["fee_minor_units"] == "600" and rows["PAY1"]["currency"] == "USD"
    assert rows["PAY1"]["payment"] == "paid" and rows["PAY1"]["fee_final"] == "yes"
    assert rows["WAIVE1"]["payment"] == "waived" and rows["LONE1"]["fee_minor_units"] == ""
    assert rows["PAY1"]["ticket_id"] == t["visit"]["billing"]["ticket_id"]

    rev = await api.http.get("/api/v1/revenue", headers=headers, params={"interval": "hour", "since": since})
    assert rev.status_code == 200, rev.text
    r = rev.json()
    assert (r["currency"], r["charged"], r["paid"], r["waived"], r["unpaid"]) == ("USD", 900, 600, 300, 0)
    assert sum(b["charged"] for b in r["buckets"]) == 900 and len(r["buckets"]) >= 3

    # Back to unpaid: the unpaid total follows, and who did it is recorded.
    resp = await api.http.put(f"/api/v1/payments/{paid_key}", headers=headers, json={"status": "unpaid"})
    assert resp.json()["billing"]["payment"]["status"] == "unpaid"
    r = (await api.http.get("/api/v1/revenue", headers=headers, params={"since": since})).json()
    assert (r["interval"], r["paid"], r["unpaid"]) == ("day", 0, 600)


async def test_fee_routes_need_a_session(api: Api) -> None:
    key = uuid.uuid4()
    for method, path in (
        ("GET", "/api/v1/tariffs"),
        ("POST", "/api/v1/tariffs"),
        ("GET", f"/api/v1/tickets/{key}"),
        ("PUT", f"/api/v1/payments/{key}"),
        ("GET", "/api/v1/revenue"),
    ):
        resp = await api.http.request(method, path, json={})
        assert resp.status_code == 401, (method, path)


async def test_daily_cap_per_lot_day_across_midnight_and_the_spring_dst_change(api: Api) -> None:
    chicago = ZoneInfo("America/Chicago")
    api.clock.now = datetime(2027, 3, 13, 12, 0, tzinfo=chicago).astimezone(timezone.utc)
    owner = await api.new_client()
    headers = await api.session(owner)  # TOTP codes follow the moved clock on both sides
    body = {"currency": "USD", "standard": {"period_price": 100, "daily_cap": 1000}}
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=body)).status_code == 201
    entry = datetime(2027, 3, 13, 20, 0, tzinfo=chicago)  # the evening before clocks go forward
    await store(api, "DST1", IN, entry)
    await store(api, "DST1", OUT, datetime(2027, 3, 15, 9, 0, tzinfo=chicago))
    api.clock.now = datetime(2027, 3, 15, 10, 0, tzinfo=chicago).astimezone(timezone.utc)
    headers = await api.session(owner)
    got = await visits(api, headers, entry - timedelta(hours=1))
    # 13th: 20:00-24:00, 4 periods (400); the 14th has 23 hours, 23 periods capped (1000);
    # the 15th: 00:00-09:00, 9 periods (900).
    assert got["DST1"]["billing"]["fee"]["amount"] == 400 + 1000 + 900


async def test_paid_while_inside_then_staying_on_leaves_the_difference_owed(api: Api) -> None:
    owner = await api.new_client()
    headers = await api.session(owner)
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=hourly(400))).status_code == 201
    api.clock.advance(minutes=1)
    start = api.clock()
    key = await store(api, "STAY1", IN, start)
    api.clock.advance(minutes=20)
    headers = await api.session(owner)
    resp = await api.http.put(f"/api/v1/payments/{key}", headers=headers, json={"status": "paid"})
    billing = resp.json()["billing"]
    assert billing["fee"] == {"amount": 400, "currency": "USD", "tariff_version": 1, "final": False}
    assert billing["payment"]["amount"] == 400
    await store(api, "STAY1", OUT, start + timedelta(minutes=100))  # a second period after paying
    api.clock.advance(hours=2)
    headers = await api.session(owner)
    since = (start - timedelta(hours=1)).isoformat()
    r = (await api.http.get("/api/v1/revenue", headers=headers, params={"since": since})).json()
    assert (r["charged"], r["paid"], r["unpaid"]) == (800, 400, 400)

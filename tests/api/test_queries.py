"""Queries through the API: HTTP ingest, events with filters and paging, visits, occupancy, stats,
CSV export, times in the lot's time zone."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
import pytz
from sqlalchemy import select, update

from anpr.messages import EventType
from services.api.models import Event
from tests.api.conftest import Api, RealPlate, event

pytestmark = pytest.mark.anyio
DEVICE = {"X-Device-Token": "device-token-for-tests-0123456789", "Content-Type": "application/json"}
IN, OUT = EventType.ENTRY, EventType.EXIT


async def _ingest(api: Api, ev) -> int:  # noqa: ANN001
    resp = await api.http.post("/api/v1/ingest", content=ev.model_dump_json(), headers=DEVICE)
    return resp.status_code


async def test_http_ingest_needs_the_device_token_and_is_idempotent(
    api: Api, real_plates: list[RealPlate]
) -> None:
    rp = real_plates[0]
    ev = event(rp.plate, snapshot=rp.jpeg)
    no_token = {"Content-Type": "application/json"}
    assert (
        await api.http.post("/api/v1/ingest", content=ev.model_dump_json(), headers=no_token)
    ).status_code == 401
    bad = no_token | {"X-Device-Token": "device-token-for-tests-012345678X"}
    assert (
        await api.http.post("/api/v1/ingest", content=ev.model_dump_json(), headers=bad)
    ).status_code == 401
    assert await _ingest(api, ev) == 201
    assert await _ingest(api, ev) == 200
    broken = ev.model_dump(mode="json") | {"plate": "abc-123"}
    resp = await api.http.post("/api/v1/ingest", json=broken, headers=DEVICE)
    assert resp.status_code == 422
    headers = await api.session(await api.new_client())
    page = (await api.http.get("/api/v1/events", headers=headers)).json()
    assert page["total"] == 1 and page["items"][0]["plate"] == rp.plate and page["items"][0]["has_snapshot"]
    snap = await api.http.get(f"/api/v1/events/{ev.event_id}/snapshot", headers=headers)
    assert (
        snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg" and snap.content == rp.jpeg
    )


async def test_events_filter_page_and_show_local_time(api: Api) -> None:
    t0 = api.clock() - timedelta(hours=5)
    plates = ["ABC1234", "ABC1734", "XYZ9876"]
    for i in range(30):
        kind = IN if i % 2 == 0 else OUT
        await api.runtime.store.ingest(
            event(plates[i % 3], kind, t0 + timedelta(minutes=i), f"gate-{kind.value}")
        )
    headers = await api.session(await api.new_client())

    async def get(**params: object) -> dict:
        resp = await api.http.get("/api/v1/events", params=params, headers=headers)
        assert resp.status_code == 200, resp.text
        return resp.json()

    page = await get(limit=7, offset=7)
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (30, 7, 7, 7)
    times = [datetime.fromisoformat(e["time"]) for e in page["items"]]
    assert times == sorted(times, reverse=True)
    assert all(t.utcoffset() in (timedelta(hours=-6), timedelta(hours=-5)) for t in times)  # America/Chicago
    assert (await get(type="entry"))["total"] == 15
    assert (await get(camera="gate-exit", type="exit"))["total"] == 15
    assert (await get(plate="abc 1234"))["total"] == 10
    tolerant = await get(plate="ABC1234", tolerant="true", limit=100)
    assert tolerant["total"] == 20 and {e["plate"] for e in tolerant["items"]} == {"ABC1234", "ABC1734"}
    local_start = (t0 + timedelta(minutes=10)).astimezone(api.runtime.tz).replace(tzinfo=None)
    window = await get(since=local_start.isoformat(), until=(local_start + timedelta(minutes=5)).isoformat())
    assert window["total"] == 5  # a time without offset is the lot's local time
    assert (await api.http.get("/api/v1/events", params={"limit": 0}, headers=headers)).status_code == 422


async def test_visits_occupancy_and_stats(api: Api) -> None:
    now = api.clock()
    base = now - timedelta(hours=3)
    await api.runtime.store.ingest(event("VLX039", IN, base))
    await api.runtime.store.ingest(event("VLX039", OUT, base + timedelta(minutes=40)))
    await api.runtime.store.ingest(event("FA8M7S", IN, base + timedelta(minutes=10)))
    await api.runtime.store.ingest(event("FA8M7S", OUT, base + timedelta(minutes=130)))
    await api.runtime.store.ingest(event("K179658", IN, base + timedelta(minutes=60)))  # still inside
    await api.runtime.store.ingest(event("HB8X9J", OUT, base + timedelta(minutes=5)))  # entry never seen
    await api.runtime.store.ingest(event("DG3C8P", IN, now - timedelta(hours=100)))  # beyond the longest stay
    headers = await api.session(await api.new_client())

    resp = await api.http.get("/api/v1/visits", params={"limit": 50}, headers=headers)
    assert resp.status_code == 200, resp.text
    visits = {v["plate"]: v for v in resp.json()["items"]}
    assert set(visits) == {"VLX039", "FA8M7S", "K179658", "HB8X9J"}
    assert visits["VLX039"]["status"] == "completed" and visits["VLX039"]["duration_s"] == 40 * 60
    assert visits["FA8M7S"]["duration_s"] == 120 * 60
    assert visits["K179658"]["status"] == "parked" and visits["K179658"]["exit_time"] is None
    assert visits["HB8X9J"]["status"] == "no_entry" and visits["HB8X9J"]["entry_time"] is None
    assert resp.json()["completed"] == 2 and resp.json()["avg_stay_s"] == 80 * 60  # the range, not the page
    first = await api.http.get("/api/v1/visits", params={"limit": 1}, headers=headers)
    assert len(first.json()["items"]) == 1 and first.json()["avg_stay_s"] == 80 * 60
    one = await api.http.get("/api/v1/visits", params={"plate": "VLX039"}, headers=headers)
    assert [v["plate"] for v in one.json()["items"]] == ["VLX039"]

    occ = (await api.http.get("/api/v1/occupancy", headers=headers)).json()
    assert occ["count"] == 1 and occ["vehicles"][0]["plate"] == "K179658"
    assert occ["timezone"] == "America/Chicago"
    assert occ["capacity"] is None and occ["free"] is None  # API_LOT_SPACES unset
    # Inside longer than API_MAX_STAY_HOURS: shown apart, as an overstay, not in the count.
    assert [(v["plate"], round(v["parked_s"] / 3600)) for v in occ["overstays"]] == [("DG3C8P", 100)]
    earlier = (base + timedelta(minutes=20)).isoformat()
    occ_then = (await api.http.get("/api/v1/occupancy", params={"at": earlier}, headers=headers)).json()
    assert {v["plate"] for v in occ_then["vehicles"]} == {"VLX039", "FA8M7S"}

    since = (base - timedelta(hours=1)).isoformat()
    stats = await api.http.get("/api/v1/stats", params={"interval": "hour", "since": since}, headers=headers)
    assert stats.status_code == 200, stats.text
    buckets = stats.json()["buckets"]
    assert sum(b["entries"] for b in buckets) == 3 and sum(b["exits"] for b in buckets) == 3
    stays = [b["avg_stay_s"] for b in buckets if b["avg_stay_s"] is not None]
    assert sorted(stays) == [40 * 60, 120 * 60]  # each visit ended in its own hour
    daily = await api.http.get("/api/v1/stats", params={"interval": "day"}, headers=headers)
    assert sum(b["entries"] for b in daily.json()["buckets"]) == 4  # the last 7 days include DG3C8P
    assert len(daily.json()["buckets"]) in (7, 8)


async def test_csv_exports(api: Api) -> None:
    now = api.clock()
    await api.runtime.store.ingest(event("VLX039", IN, now - timedelta(hours=2)))
    await api.runtime.store.ingest(event("VLX039", OUT, now - timedelta(hours=1)))
    headers = await api.session(await api.new_client())
    ev = await api.http.get("/api/v1/export/events.csv", headers=headers)
    assert ev.status_code == 200 and ev.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(ev.text)))
    assert [(r["plate"], r["type"]) for r in rows] == [("VLX039", "exit"), ("VLX039", "entry")]
    vi = await api.http.get("/api/v1/export/visits.csv", headers=headers)
    rows = list(csv.DictReader(io.StringIO(vi.text)))
    assert len(rows) == 1 and rows[0]["status"] == "completed" and rows[0]["duration_s"] == "3600"
    assert rows[0]["duration"] == "1:00"
    # Spreadsheet-friendly: lot-local time without offset or microseconds, the range in the name.
    entry_local = (now - timedelta(hours=2)).astimezone(pytz.timezone("America/Chicago"))
    assert rows[0]["entry_time"] == entry_local.strftime("%Y-%m-%d %H:%M:%S")
    today = now.astimezone(pytz.timezone("America/Chicago")).date()
    yesterday = (now - timedelta(days=1)).astimezone(pytz.timezone("America/Chicago")).date()
    assert f'filename="visits_{yesterday}_to_{today}.csv"' in vi.headers["content-disposition"]
    assert 'filename="events_start_to_' in ev.headers["content-disposition"]


async def test_tampered_rows_are_an_error_not_wrong_data(api: Api) -> None:
    await api.runtime.store.ingest(event("VLX039"))
    headers = await api.session(await api.new_client())
    async with api.runtime.sf() as s, s.begin():
        row = (await s.scalars(select(Event))).one()
        await s.execute(update(Event).values(plate_ct=row.plate_ct[:-1] + bytes([row.plate_ct[-1] ^ 0x80])))
    resp = await api.http.get("/api/v1/events", headers=headers)
    assert resp.status_code == 500 and resp.json() == {"detail": "stored data failed its integrity check"}

"""Corrections through the API: a voided event, a merged pair of broken visits, a split pairing; every
view, export and statistic follows, the event as read stays stored."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from anpr.messages import EventType
from services.api.models import Event
from tests.api.conftest import Api, event

pytestmark = pytest.mark.anyio
IN, OUT = EventType.ENTRY, EventType.EXIT


async def _stats(api: Api, headers: dict, since) -> tuple[int, int, list[float]]:  # noqa: ANN001
    body = (await api.http.get("/api/v1/stats", params={"since": since.isoformat()}, headers=headers)).json()
    b = body["buckets"]
    return (
        sum(x["entries"] for x in b),
        sum(x["exits"] for x in b),
        [x["avg_stay_s"] for x in b if x["avg_stay_s"] is not None],
    )


async def _visits(api: Api, headers: dict, since) -> list[tuple]:  # noqa: ANN001
    page = await api.http.get("/api/v1/visits", params={"since": since.isoformat()}, headers=headers)
    assert page.status_code == 200, page.text
    return sorted((v["plate"], v["status"]) for v in page.json()["items"])


async def test_a_voided_event_leaves_every_view_and_statistic(api: Api) -> None:
    t = api.clock() - timedelta(hours=4)
    store = api.runtime.store
    entry, false_exit, real_exit = (
        event("VOID001", IN, t),
        event("VOID001", OUT, t + timedelta(minutes=10)),  # a passer-by read as leaving
        event("VOID001", OUT, t + timedelta(minutes=90)),
    )
    for e in (entry, false_exit, real_exit):
        await store.ingest(e)
    headers = await api.session(await api.new_client())
    since = t - timedelta(hours=1)
    assert await _visits(api, headers, since) == [("VOID001", "completed"), ("VOID001", "no_entry")]
    assert await _stats(api, headers, since) == (1, 2, [600.0])

    resp = await api.http.post(f"/api/v1/events/{false_exit.event_id}/void", json={}, headers=headers)
    assert resp.status_code == 200, resp.text
    assert resp.json()["voided"] is True
    assert await _visits(api, headers, since) == [("VOID001", "completed")]
    assert await _stats(api, headers, since) == (1, 1, [5400.0])
    events = (await api.http.get("/api/v1/events", headers=headers)).json()
    assert {e["event_id"] for e in events["items"]} == {str(entry.event_id), str(real_exit.event_id)}
    csv_text = (await api.http.get("/api/v1/export/events.csv", headers=headers)).text
    assert str(false_exit.event_id) not in csv_text and str(real_exit.event_id) in csv_text
    async with api.runtime.sf() as s:  # never overwritten: the event as read is still stored
        assert await s.scalar(select(func.count()).select_from(Event)) == 3

    restored = await api.http.post(
        f"/api/v1/events/{false_exit.event_id}/void", json={"voided": False}, headers=headers
    )
    assert restored.status_code == 200 and restored.json()["voided"] is False
    assert await _stats(api, headers, since) == (1, 2, [600.0])
    history = (
        await api.http.get(f"/api/v1/events/{false_exit.event_id}/corrections", headers=headers)
    ).json()
    assert [h["voided"] for h in history] == [True, False]
    missing = await api.http.post(f"/api/v1/events/{uuid.uuid4()}/void", json={}, headers=headers)
    assert missing.status_code == 404


async def test_merge_two_broken_visits_then_split_them(api: Api) -> None:
    t = api.clock() - timedelta(hours=5)
    store = api.runtime.store
    entry, misread_exit = event("ABC1234", IN, t), event("ABC1284", OUT, t + timedelta(minutes=75))
    for e in (entry, misread_exit):
        await store.ingest(e)
    headers = await api.session(await api.new_client())
    since = t - timedelta(hours=1)
    assert await _visits(api, headers, since) == [("ABC1234", "parked"), ("ABC1284", "no_entry")]

    keys = [str(misread_exit.event_id), str(entry.event_id)]  # either order
    merged = await api.http.post("/api/v1/visits/merge", json={"visit_keys": keys}, headers=headers)
    assert merged.status_code == 200, merged.text
    assert (merged.json()["status"], merged.json()["duration_s"]) == ("completed", 75 * 60)
    assert await _visits(api, headers, since) == [("ABC1234", "completed")]
    assert await _stats(api, headers, since) == (1, 1, [4500.0])
    found = (await api.http.get("/api/v1/events", params={"plate": "ABC1234"}, headers=headers)).json()
    assert found["total"] == 2 and {e["plate"] for e in found["items"]} == {"ABC1234"}
    assert [e["read_as"] for e in found["items"]] == ["ABC1284", None]  # the exit's misread stays visible
    gone = (await api.http.get("/api/v1/events", params={"plate": "ABC1284"}, headers=headers)).json()
    assert gone["total"] == 0
    near = await api.http.get(
        "/api/v1/events", params={"plate": "ABC1Z34", "tolerant": "true"}, headers=headers
    )
    assert near.json()["total"] == 2
    visits_csv = (await api.http.get("/api/v1/export/visits.csv", headers=headers)).text
    assert "ABC1284" not in visits_csv and visits_csv.count("ABC1234") == 1
    again = await api.http.post("/api/v1/visits/merge", json={"visit_keys": keys}, headers=headers)
    assert again.status_code == 404  # the exit's key names no visit of its own any more
    twice = [str(entry.event_id)] * 2
    refused = await api.http.post("/api/v1/visits/merge", json={"visit_keys": twice}, headers=headers)
    assert refused.status_code == 409 and "without exit" in refused.json()["detail"]

    split = await api.http.post(f"/api/v1/visits/{entry.event_id}/split", headers=headers)
    assert split.status_code == 200, split.text
    assert [v["status"] for v in split.json()] == ["no_exit", "no_entry"]
    assert await _visits(api, headers, since) == [("ABC1234", "no_entry"), ("ABC1234", "no_exit")]
    assert await _stats(api, headers, since) == (1, 1, [])


async def test_a_plate_correction_must_name_a_plate(api: Api) -> None:
    e = event("PLT0001", IN, api.clock() - timedelta(minutes=5))
    await api.runtime.store.ingest(e)
    headers = await api.session(await api.new_client())
    bad = await api.http.post(f"/api/v1/events/{e.event_id}/plate", json={"plate": "--"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "plate"]
    ok = await api.http.post(
        f"/api/v1/events/{e.event_id}/plate", json={"plate": "plt-0007"}, headers=headers
    )
    assert ok.status_code == 200 and ok.json()["plate"] == "PLT0007"
    page = (await api.http.get("/api/v1/events", headers=headers)).json()
    assert [(x["plate"], x["read_as"]) for x in page["items"]] == [("PLT0007", "PLT0001")]
    occ = (await api.http.get("/api/v1/occupancy", headers=headers)).json()
    assert [v["plate"] for v in occ["vehicles"]] == ["PLT0007"]

"""A car that leaves owing a fee raises one `left_unpaid` alert at ingest; one that paid (or owed
nothing) raises none, and a failing check never fails the ingest."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anpr.messages import EventType, encode
from tests.api.conftest import Api, event

pytestmark = pytest.mark.anyio
DEVICE = {"X-Device-Token": "device-token-for-tests-0123456789", "Content-Type": "application/json"}
IN, OUT = EventType.ENTRY, EventType.EXIT


async def ingest(api: Api, ev) -> None:  # noqa: ANN001
    resp = await api.http.post("/api/v1/ingest", content=encode(ev), headers=DEVICE)
    assert resp.status_code in (200, 201), resp.text


async def test_only_a_visit_that_leaves_owing_raises_left_unpaid(api: Api) -> None:
    owner = await api.new_client("owner")
    headers = await api.session(owner)
    tariff = {"currency": "USD", "standard": {"grace_minutes": 10, "period_price": 200}}
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=tariff)).status_code == 201
    api.clock.advance(minutes=1)
    t0 = api.clock()
    entries = {plate: event(plate, IN, t0) for plate in ("OWES1", "PAID1", "WAIVE1", "QUICK1")}
    for ev in entries.values():
        await ingest(api, ev)
    api.clock.advance(hours=2)
    headers = await api.session(owner)
    for plate, status in (("PAID1", "paid"), ("WAIVE1", "waived")):
        key = entries[plate].event_id
        resp = await api.http.put(f"/api/v1/payments/{key}", headers=headers, json={"status": status})
        assert resp.status_code == 200, resp.text

    owes_exit = event("OWES1", OUT, t0 + timedelta(hours=2), camera="gate-out")
    await ingest(api, owes_exit)
    await ingest(api, owes_exit)  # a redelivery raises nothing twice
    for plate in ("PAID1", "WAIVE1"):
        await ingest(api, event(plate, OUT, t0 + timedelta(hours=2), camera="gate-out"))
    await ingest(api, event("QUICK1", OUT, t0 + timedelta(minutes=5), camera="gate-out"))  # in grace: free

    page = (await api.http.get("/api/v1/alerts", headers=headers)).json()
    assert [(a["kind"], a["plate"]) for a in page["items"]] == [("left_unpaid", "OWES1")]
    (alert,) = page["items"]
    assert alert["visit_key"] == str(entries["OWES1"].event_id)
    assert alert["event_id"] == str(owes_exit.event_id) and alert["camera"] == "gate-out"
    assert "400" in alert["detail"]  # two started hours at 200


async def test_a_failing_unpaid_check_never_fails_the_ingest(api: Api, monkeypatch) -> None:  # noqa: ANN001
    async def broken(_visits: list) -> list:
        raise RuntimeError("fee engine down")

    monkeypatch.setattr(api.runtime.billing, "annotate", broken)
    t0 = api.clock() - timedelta(hours=1)
    entry = event("BROKE1", IN, t0)
    await ingest(api, entry)
    await ingest(api, event("BROKE1", OUT, t0 + timedelta(minutes=50)))  # 201 (asserted in ingest)
    visit = await api.runtime.store.visit_by_key(str(entry.event_id))
    assert visit is not None and visit.status == "completed"


async def test_a_merge_that_completes_an_unpaid_visit_raises_left_unpaid(api: Api) -> None:
    owner = await api.new_client("owner")
    headers = await api.session(owner)
    tariff = {"currency": "USD", "standard": {"grace_minutes": 10, "period_price": 200}}
    assert (await api.http.post("/api/v1/tariffs", headers=headers, json=tariff)).status_code == 201
    api.clock.advance(minutes=1)
    t0 = api.clock()
    entry = event("MERGE1", IN, t0)
    misread_exit = event("MERGE7", OUT, t0 + timedelta(hours=1, minutes=30), camera="gate-out")
    await ingest(api, entry)
    api.clock.advance(hours=2)
    await ingest(api, misread_exit)  # two broken visits: no fee completes, no alert
    headers = await api.session(owner)
    assert (await api.http.get("/api/v1/alerts", headers=headers)).json()["items"] == []

    body = {"visit_keys": [str(entry.event_id), str(misread_exit.event_id)]}
    resp = await api.http.post("/api/v1/visits/merge", headers=headers, json=body)
    assert resp.status_code == 200, resp.text
    page = (await api.http.get("/api/v1/alerts", headers=headers)).json()
    assert [(a["kind"], a["plate"]) for a in page["items"]] == [("left_unpaid", "MERGE1")]
    assert page["items"][0]["visit_key"] == str(entry.event_id) and "400" in page["items"][0]["detail"]

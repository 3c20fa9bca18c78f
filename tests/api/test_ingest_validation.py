"""HTTP ingest refuses, with 422, every event the database could not hold or the API could not show:
times outside the bus's range (also with offsets that overflow when converted to UTC), a read count
over the column's 32 bits, a best read outside its sighting, a confidence that is not a number."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import Api, event

pytestmark = pytest.mark.anyio
DEVICE = {"X-Device-Token": "device-token-for-tests-0123456789", "Content-Type": "application/json"}

BAD = {
    "year-1": {"time": "0001-01-01T00:00:00Z", "first_seen": "0001-01-01T00:00:00Z"},
    "year-1-offset": {t: "0001-01-01T00:00:00+01:00" for t in ("time", "first_seen", "last_seen")},
    "year-9999-offset": {t: "9999-12-31T23:59:59-01:00" for t in ("time", "first_seen", "last_seen")},
    "read-count-2^31": {"read_count": 2**31},
    "first-after-last": {"first_seen": "2026-11-24T08:10:00Z", "last_seen": "2026-11-24T08:00:00Z"},
    "time-after-last": {"last_seen": "2026-11-24T08:00:00Z"},
    "confidence-false": {"confidence": False},
    "confidence-string": {"confidence": "0.9"},
}


async def test_ingest_answers_422_and_stores_nothing_for_events_the_database_cannot_hold(api: Api) -> None:
    good = event("ABC1234")
    body = good.model_dump(mode="json") | {
        "time": "2026-11-24T08:05:00Z",
        "first_seen": "2026-11-24T08:04:58Z",
        "last_seen": "2026-11-24T08:05:01Z",
    }
    answers = {}
    for name, change in BAD.items():
        fresh = {"event_id": str(uuid.uuid4())}
        resp = await api.http.post("/api/v1/ingest", json=body | change | fresh, headers=DEVICE)
        answers[name] = resp.status_code
        if resp.status_code == 422:
            assert resp.json()["detail"], name
    assert answers == dict.fromkeys(BAD, 422)

    resp = await api.http.post("/api/v1/ingest", json=body, headers=DEVICE)
    assert resp.status_code == 201, resp.text
    headers = await api.session(await api.new_client())
    page = (await api.http.get("/api/v1/events", headers=headers)).json()
    assert page["total"] == 1 and page["items"][0]["plate"] == "ABC1234"


async def test_ingest_takes_times_at_the_edges_of_the_range(api: Api) -> None:
    low = event("LOW1970")
    edge = {
        "time": "1970-01-01T00:00:00Z",
        "first_seen": "1970-01-01T00:00:00Z",
        "last_seen": "1970-01-01T00:00:01Z",
    }
    resp = await api.http.post("/api/v1/ingest", json=low.model_dump(mode="json") | edge, headers=DEVICE)
    assert resp.status_code == 201, resp.text
    high = event("HIGH2099")
    edge = {t: "2099-12-31T23:59:59+14:00" for t in ("time", "first_seen", "last_seen")}
    resp = await api.http.post("/api/v1/ingest", json=high.model_dump(mode="json") | edge, headers=DEVICE)
    assert resp.status_code == 201, resp.text
    headers = await api.session(await api.new_client())
    page = (await api.http.get("/api/v1/events", headers=headers)).json()
    assert sorted(i["plate"] for i in page["items"]) == ["HIGH2099", "LOW1970"]

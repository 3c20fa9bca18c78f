"""Rows with extreme times already in the database, and query parameters at and past their limits:
a client error is a 422 with the validation body, never a 500."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from anpr.messages import EventType
from anpr.settings import CommonSettings
from services.api.settings import ApiSettings
from tests.api.conftest import Api, KeyMaterial, event, make_settings

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("db_url", ["mariadb"], indirect=True)]

YEAR_1 = datetime(1, 1, 1, tzinfo=timezone.utc)


async def _store_extreme(api: Api, plate: str, at: datetime, kind: EventType = EventType.ENTRY) -> None:
    """Straight into the store, past validation: as a row written before ingest checked times."""
    ev = event(plate, kind, api.clock())
    await api.runtime.store.ingest(ev.model_copy(update={"time": at, "first_seen": at, "last_seen": at}))


async def test_a_stored_year_1_event_is_listed_exported_searched_and_paired(api: Api) -> None:
    await _store_extreme(api, "OLD0001", YEAR_1)
    await _store_extreme(api, "OLD0001", YEAR_1 + timedelta(hours=1), EventType.EXIT)
    await api.runtime.store.ingest(event("NEW0001", at=api.clock() - timedelta(hours=1)))
    headers = await api.session(await api.new_client())

    page = await api.http.get("/api/v1/events", headers=headers)
    assert page.status_code == 200, page.text
    old = [e for e in page.json()["items"] if e["plate"] == "OLD0001"]
    assert [e["time"] for e in old] == ["0001-01-01T01:00:00Z", "0001-01-01T00:00:00Z"]

    found = await api.http.get("/api/v1/events", params={"plate": "old-0001"}, headers=headers)
    assert found.status_code == 200 and found.json()["total"] == 2

    tolerant = await api.http.get(
        "/api/v1/events", params={"plate": "OLD000I", "tolerant": "true"}, headers=headers
    )
    assert tolerant.status_code == 200 and tolerant.json()["total"] == 2

    export = await api.http.get("/api/v1/export/events.csv", headers=headers)
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert sorted(r["time"] for r in rows if r["plate"] == "OLD0001")[0] == "0001-01-01 00:00:00"

    # The earliest range a client may ask for reaches back to the stored year-1 pair no more than
    # any other range does; the answer is the same shape as always.
    for path in ("/api/v1/visits", "/api/v1/export/visits.csv"):
        resp = await api.http.get(path, params={"since": "1970-01-01T00:00:00Z"}, headers=headers)
        assert resp.status_code == 200, (path, resp.text)
    assert (await api.http.get("/api/v1/occupancy", headers=headers)).status_code == 200


@pytest.fixture
def settings(db_url: str, key_material: KeyMaterial, request: pytest.FixtureRequest) -> ApiSettings:
    zone = getattr(request, "param", "America/Chicago")
    return make_settings(
        db_url, key_material, common=CommonSettings(environment="development", timezone=zone)
    )


@pytest.mark.parametrize("settings", ["Europe/Berlin"], indirect=True)
async def test_a_stored_year_9999_event_reads_in_a_lot_east_of_utc(api: Api) -> None:
    late = datetime(9999, 12, 31, 23, 30, tzinfo=timezone.utc)  # 00:30 in year 10000 in Berlin
    await _store_extreme(api, "LATE001", late)
    headers = await api.session(await api.new_client())
    page = await api.http.get("/api/v1/events", params={"plate": "LATE001"}, headers=headers)
    assert page.status_code == 200, page.text
    assert page.json()["items"][0]["time"] == "9999-12-31T23:30:00Z"
    assert (await api.http.get("/api/v1/export/events.csv", headers=headers)).status_code == 200


BAD_QUERIES = [
    ("/api/v1/events", {"offset": str(10**30)}),
    ("/api/v1/events", {"offset": "-1"}),
    ("/api/v1/events", {"until": "0.5"}),
    ("/api/v1/events", {"since": "1700000000"}),
    ("/api/v1/events", {"since": "0001-01-01T00:00:00Z"}),
    ("/api/v1/events", {"until": "9999-12-31T23:59:59"}),
    ("/api/v1/events", {"plate": "--"}),
    ("/api/v1/visits", {"since": "0001-01-01T00:00:00+01:00"}),
    ("/api/v1/visits", {"until": "0.5"}),
    ("/api/v1/visits", {"offset": str(10**30)}),
    ("/api/v1/visits", {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
    ("/api/v1/occupancy", {"at": "0001-01-01T00:00:00Z"}),
    ("/api/v1/occupancy", {"at": "12"}),
    ("/api/v1/stats", {"since": "0001-01-01T00:00:00Z"}),
    ("/api/v1/stats", {"since": "1980-01-01T00:00:00Z", "until": "2000-01-01T00:00:00Z"}),
    ("/api/v1/export/events.csv", {"until": "0.5"}),
    ("/api/v1/export/visits.csv", {"since": "9999-12-31T00:00:00Z"}),
]


async def test_out_of_range_queries_are_422_with_the_validation_body(api: Api) -> None:
    headers = await api.session(await api.new_client())
    for path, params in BAD_QUERIES:
        resp = await api.http.get(path, params=params, headers=headers)
        assert resp.status_code == 422, (path, params, resp.status_code, resp.text)
        detail = resp.json()["detail"]
        assert isinstance(detail, list) and detail and {"loc", "msg", "type"} <= set(detail[0]), detail
    ok = await api.http.get(
        "/api/v1/events", params={"offset": str(10**9), "since": "2026-11-24T08:00:00"}, headers=headers
    )
    assert ok.status_code == 200 and ok.json()["items"] == []


async def test_a_value_the_database_cannot_hold_is_422_and_nothing_is_stored(api: Api) -> None:
    body = event("BIG0001", at=api.clock()).model_dump(mode="json") | {"read_count": 2**40}
    device = {"X-Device-Token": "device-token-for-tests-0123456789"}
    resp = await api.http.post("/api/v1/ingest", json=body, headers=device)
    assert resp.status_code == 422, resp.text
    assert isinstance(resp.json()["detail"], list)
    headers = await api.session(await api.new_client())
    assert (await api.http.get("/api/v1/events", headers=headers)).json()["total"] == 0

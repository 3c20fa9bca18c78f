"""A listed plate raises an alert when it is seen, also read one character off; once per event."""

from __future__ import annotations

import pytest

from anpr.messages import encode
from tests.api.conftest import Api, event

pytestmark = pytest.mark.anyio
DEVICE = {"X-Device-Token": "device-token-for-tests-0123456789", "Content-Type": "application/json"}


async def ingest(api: Api, ev) -> None:  # noqa: ANN001
    resp = await api.http.post("/api/v1/ingest", content=encode(ev), headers=DEVICE)
    assert resp.status_code in (200, 201), resp.text


async def test_a_listed_plate_read_one_character_off_raises_one_alert(api: Api) -> None:
    headers = await api.session(await api.new_client())
    for kind, plate in (("deny", "ABC1234"), ("watch", "ABC1234"), ("member", "KLM5555")):
        body = {"kind": kind, "plate": plate}
        assert (await api.http.post("/api/v1/lists", json=body, headers=headers)).status_code == 201
    misread = event("ABC1284", at=api.clock())  # 3 read as 8
    await ingest(api, misread)
    await ingest(api, misread)  # a redelivery raises nothing new
    await ingest(api, event("KLM5555", at=api.clock()))
    await ingest(api, event("ZZZ9999", at=api.clock()))
    page = (await api.http.get("/api/v1/alerts", headers=headers)).json()
    assert page["total"] == 2
    assert sorted((a["kind"], a["list_kind"], a["plate"]) for a in page["items"]) == [
        ("listed", "deny", "ABC1284"),
        ("listed", "watch", "ABC1284"),
    ]
    assert {a["event_id"] for a in page["items"]} == {str(misread.event_id)}
    assert "as ABC1234" in page["items"][0]["detail"]
    assert (await api.http.get("/api/v1/alerts", params={"kind": "overstay"}, headers=headers)).json()[
        "total"
    ] == 0

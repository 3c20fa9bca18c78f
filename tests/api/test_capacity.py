"""Lot capacity: /occupancy gives configured spaces, vehicles parked and free spaces now."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anpr.messages import EventType
from services.api.settings import ApiSettings
from tests.api.conftest import Api, KeyMaterial, event, make_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(db_url: str, key_material: KeyMaterial) -> ApiSettings:
    """The shared `api` fixture, for a lot of two spaces."""
    return make_settings(db_url, key_material, lot_spaces=2)


async def test_free_spaces_follow_entries_and_exits(api: Api) -> None:
    t = api.clock() - timedelta(hours=2)
    headers = await api.session(await api.new_client())

    async def occupancy() -> tuple:
        body = (await api.http.get("/api/v1/occupancy", headers=headers)).json()
        return body["capacity"], body["count"], body["free"]

    assert await occupancy() == (2, 0, 2)
    for plate in ("CAP0001", "CAP0002", "CAP0003"):  # one more car than spaces (double parking)
        await api.runtime.store.ingest(event(plate, EventType.ENTRY, t))
    assert await occupancy() == (2, 3, 0)
    await api.runtime.store.ingest(event("CAP0002", EventType.EXIT, t + timedelta(minutes=30)))
    await api.runtime.store.ingest(event("CAP0003", EventType.EXIT, t + timedelta(minutes=31)))
    assert await occupancy() == (2, 1, 1)

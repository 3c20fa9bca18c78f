"""Alerts from the lot's rules: an unknown plate entering while the lot is members-only, a car parked
past the owner's limit (once per visit), a visit that left unpaid (raised by the fee engine)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from anpr.messages import EventType
from services.api.schemas import VisitPublic
from services.api.settings import ApiSettings
from tests.api.conftest import Api, KeyMaterial, event, make_settings
from tests.api.test_alerts import ingest

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(db_url: str, key_material: KeyMaterial) -> ApiSettings:
    return make_settings(db_url, key_material, members_only=True, overstay_alert_hours=1.0)


async def test_members_only_overstay_and_unpaid_alerts(api: Api) -> None:
    headers = await api.session(await api.new_client())
    body = {"kind": "allow", "plate": "GUEST12"}
    assert (await api.http.post("/api/v1/lists", json=body, headers=headers)).status_code == 201
    stranger = event("STR4NGE", at=api.clock() - timedelta(hours=2))
    await ingest(api, stranger)
    await ingest(api, event("GUEST12", at=api.clock() - timedelta(minutes=10)))
    await ingest(api, event("GUE5T12", kind=EventType.EXIT, at=api.clock()))  # an exit raises none
    alerts = (await api.http.get("/api/v1/alerts", headers=headers)).json()["items"]
    assert [(a["kind"], a["plate"], a["visit_key"]) for a in alerts] == [
        ("unknown_members_only", "STR4NGE", str(stranger.event_id))
    ]

    runtime = api.runtime
    limit = timedelta(hours=1)
    first = await runtime.alerts.check_overstays(runtime.store, limit)
    again = await runtime.alerts.check_overstays(runtime.store, limit)
    assert [(a.kind.value, a.plate, a.visit_key) for a in first] == [
        ("overstay", "STR4NGE", stranger.event_id)
    ]
    assert again == []

    visit = VisitPublic(
        plate="GUEST12",
        status="completed",
        entry_event_id=uuid.uuid4(),
        entry_time=api.clock(),
        entry_camera="gate-in",
        exit_event_id=uuid.uuid4(),
        exit_time=api.clock(),
        exit_camera="gate-out",
        duration_s=600,
    )
    unpaid = await runtime.alerts.left_unpaid(visit)
    assert unpaid is not None and unpaid.visit_key == visit.entry_event_id
    assert await runtime.alerts.left_unpaid(visit) is None
    kinds = [a["kind"] for a in (await api.http.get("/api/v1/alerts", headers=headers)).json()["items"]]
    assert kinds == ["left_unpaid", "overstay", "unknown_members_only"]

"""Retention against the real databases: old events go, old snapshots go sooner, each purge is audited."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from anpr.messages import AlertKind
from services.api import audit
from services.api.models import Alert, Event, EventNearIndex, WebhookAttempt, WebhookDelivery
from services.api.retention import Policy, purge, purge_forever
from services.api.runtime import Runtime, audit_secret
from services.api.store import EventFilter
from tests.api.conftest import Clock, event

pytestmark = pytest.mark.anyio
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"


async def _stored(runtime: Runtime, clock: Clock) -> None:
    """Events 400, 100 and 10 days old and one of today, each with a snapshot."""
    for plate, days in (("OLD400", 400), ("MID100", 100), ("NEW010", 10), ("TODAY1", 0)):
        await runtime.store.ingest(event(plate, at=clock() - timedelta(days=days, hours=1), snapshot=JPEG))


async def _state(runtime: Runtime) -> dict[str, bool]:
    """Plate -> has a snapshot, for every stored event."""
    items, _ = await runtime.store.search(EventFilter(), 100, 0)
    return {e.plate: e.has_snapshot for e in items}


async def test_purge_deletes_old_events_and_drops_older_snapshots(runtime: Runtime, clock: Clock) -> None:
    await _stored(runtime, clock)
    policy = Policy(records_days=365, snapshots_days=30)
    dry = await purge(runtime.sf, policy, clock(), actor="cli", dry_run=True)
    assert (dry.events, dry.snapshots) == (1, 2)  # OLD400 is counted as deleted and as a snapshot
    assert len(await _state(runtime)) == 4  # a dry run changes nothing

    done = await purge(runtime.sf, policy, clock(), actor="cli")
    assert (done.events, done.snapshots) == (1, 1)
    assert await _state(runtime) == {"MID100": False, "NEW010": True, "TODAY1": True}
    async with runtime.sf() as s:
        near = await s.scalar(select(func.count()).select_from(EventNearIndex))
        events = await s.scalar(select(func.count()).select_from(Event))
    assert near and near < 4 * 8  # the deleted event's near-index rows went with it
    assert events == 3

    entries, total = await audit.page(runtime.sf, runtime.keys.cipher, runtime.tz, 10, 0)
    assert total == 1 and (entries[0].actor, entries[0].action) == ("cli", "purge")
    assert entries[0].after is not None and entries[0].after["events"] == 1
    assert entries[0].after["records_before"] == done.records_before.isoformat(timespec="seconds")
    assert (await audit.verify(runtime.sf, audit_secret(runtime.settings))).ok

    again = await purge(runtime.sf, policy, clock(), actor="cli")
    assert (again.events, again.snapshots) == (0, 0)
    assert (await audit.page(runtime.sf, runtime.keys.cipher, runtime.tz, 10, 0))[1] == 1  # nothing: no entry


async def test_old_alerts_go_with_their_webhook_deliveries_and_attempts(
    runtime: Runtime, clock: Clock
) -> None:
    await _stored(runtime, clock)
    await runtime.webhooks.create("https://hooks.example.com/anpr", "owner")
    today = clock.now
    for plate, days in (("OLD400", 400), ("TODAY1", 0)):
        clock.now = today - timedelta(days=days)
        await runtime.alerts.raise_alert(AlertKind.LISTED, plate, plate, list_kind="watch")
    clock.now = today
    async with runtime.sf() as s:  # a failed try of each delivery, as the worker records them
        deliveries = dict((await s.execute(select(WebhookDelivery.alert_pk, WebhookDelivery.id))).all())
        s.add_all(
            WebhookAttempt(delivery_pk=pk, at=today, error="ConnectError") for pk in deliveries.values()
        )
        await s.commit()
    old = deliveries[min(deliveries)]  # the first alert raised is the 400-day-old one

    await purge(runtime.sf, Policy(records_days=365, snapshots_days=0), clock(), actor="cli")
    async with runtime.sf() as s:
        assert await s.scalar(select(func.count()).select_from(Alert)) == 1
        left = set(await s.scalars(select(WebhookDelivery.id)))
        tried = set(await s.scalars(select(WebhookAttempt.delivery_pk)))
    assert left == tried == {deliveries[max(deliveries)]} and old not in left
    alerts, _ = await runtime.alerts.page(None, 10, 0)
    assert [a.plate for a in alerts] == ["TODAY1"]


async def test_zero_keeps_forever(runtime: Runtime, clock: Clock) -> None:
    await _stored(runtime, clock)
    done = await purge(runtime.sf, Policy(records_days=0, snapshots_days=0), clock(), actor="cli")
    assert (done.events, done.snapshots, done.records_before) == (0, 0, None)
    assert all((await _state(runtime)).values()) and len(await _state(runtime)) == 4


async def test_the_service_purges_by_itself(runtime: Runtime, clock: Clock) -> None:
    await _stored(runtime, clock)
    task = asyncio.create_task(purge_forever(runtime.sf, Policy(365, 0), clock, interval_s=0.05))
    try:
        for _ in range(200):
            if "OLD400" not in await _state(runtime):
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert set(await _state(runtime)) == {"MID100", "NEW010", "TODAY1"}

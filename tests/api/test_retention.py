"""Retention against the real databases: old events go, old snapshots go sooner, each purge is audited."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from anpr.messages import AlertKind
from services.api import audit
from services.api.models import (
    Alert,
    AuditEntry,
    AuditHead,
    DeadLetterChunk,
    Event,
    EventNearIndex,
    WebhookAttempt,
    WebhookDelivery,
)
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


async def _audited(runtime: Runtime, clock: Clock, days: int, action: str, **sealed: dict) -> None:
    today = clock.now
    clock.now = today - timedelta(days=days)
    await audit.append(runtime.sf, actor="alice", action=action, subject=f"{days} days", **sealed)
    clock.now = today


async def test_old_dead_letters_go_and_old_audit_entries_lose_their_plates(
    runtime: Runtime, clock: Clock
) -> None:
    today = clock.now
    for plate, days in (("OLD400", 400), ("TODAY1", 0)):
        clock.now = today - timedelta(days=days)  # a dead letter is as old as its receipt
        await runtime.dead_letters.keep(event(plate, at=clock.now), "too large")
    await _audited(
        runtime, clock, 400, "correction.plate", before={"plate": "OLD4OO"}, after={"plate": "OLD400"}
    )
    await _audited(runtime, clock, 400, "key_rotate", after={"rsa_version": 2, "data_keys": 1})
    await _audited(runtime, clock, 10, "list.add", after={"plate": "NEW010"})

    policy = Policy(records_days=365, snapshots_days=0)
    dry = await purge(runtime.sf, policy, today, actor="cli", dry_run=True)
    assert (dry.dead_letters, dry.audit_entries) == (1, 1)
    done = await purge(runtime.sf, policy, today, actor="cli")
    assert (done.events, done.dead_letters, done.audit_entries) == (0, 1, 1)
    assert "1 dead letter(s); 1 audit entry(ies) redacted" in done.line()

    letters, total = await runtime.dead_letters.page(10, 0)
    assert total == 1 and letters[0].plate == "TODAY1"
    async with runtime.sf() as s:
        assert await s.scalar(select(func.count()).select_from(DeadLetterChunk)) == 1  # its chunks went too
        old = await s.get(AuditEntry, 1)
    assert old is not None and old.before_ct is None and old.after_ct is None and old.before_digest

    entries, total = await audit.page(runtime.sf, runtime.keys.cipher, runtime.tz, 10, 0)
    by_seq = {e.seq: e for e in entries}
    assert total == 4 and by_seq[1].redacted and (by_seq[1].before, by_seq[1].after) == (None, None)
    assert by_seq[2].after == {"rsa_version": 2, "data_keys": 1} and not by_seq[2].redacted  # no plate in it
    assert by_seq[3].after == {"plate": "NEW010"}  # within the year
    assert by_seq[4].action == "purge" and by_seq[4].after is not None
    assert (by_seq[4].after["dead_letters"], by_seq[4].after["audit_entries_redacted"]) == (1, 1)
    assert (await audit.verify(runtime.sf, audit_secret(runtime.settings))).line() == "ok 4 entries"

    # the digest kept in the ciphertext's place is still covered by the chain
    async with runtime.sf() as s, s.begin():
        await s.execute(update(AuditEntry).where(AuditEntry.seq == 1).values(before_digest="0" * 64))
    verdict = await audit.verify(runtime.sf, audit_secret(runtime.settings))
    assert (verdict.ok, verdict.broken_seq) == (False, 1)


async def test_entries_from_before_redaction_verify_and_stay_whole(runtime: Runtime, clock: Clock) -> None:
    """An entry of chain 1 (written before migration 0011) hashes its ciphertext: it verifies as it
    did and retention leaves it alone rather than break the chain."""
    await _audited(runtime, clock, 400, "correction.plate", after={"plate": "OLD400"})
    key = audit.chain_key(audit_secret(runtime.settings))
    async with runtime.sf() as s, s.begin():
        row = await s.get(AuditEntry, 1)
        assert row is not None and row.chain == audit.CHAIN
        row.chain = 1
        row.hash = audit.entry_hash(key, audit.GENESIS, row)
        await s.execute(update(AuditHead).values(hash=row.hash))
    assert (await audit.verify(runtime.sf, audit_secret(runtime.settings))).ok

    done = await purge(runtime.sf, Policy(records_days=365, snapshots_days=0), clock(), actor="cli")
    assert done.audit_entries == 0
    entries, _ = await audit.page(runtime.sf, runtime.keys.cipher, runtime.tz, 10, 0)
    assert entries[-1].after == {"plate": "OLD400"}
    assert (await audit.verify(runtime.sf, audit_secret(runtime.settings))).ok


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

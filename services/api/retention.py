"""Retention: events older than API_RETENTION_RECORDS_DAYS are deleted, and snapshots older than
API_RETENTION_SNAPSHOTS_DAYS dropped (the event stays, without its photo); 0 keeps them forever.
What else may hold a plate goes with the records: dead letters, and the sealed `before` / `after` of
older audit entries (redacted: the entry and its place in the chain stay, audit.py).

The service purges by itself every API_RETENTION_INTERVAL_S (the first time one interval after
start-up); `python -m services.api purge [--dry-run]` does it by hand. Each purge that removes
something is recorded in the audit log with its counts and cut-offs, in the same transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, Result, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api import audit
from services.api.db import utc_naive
from services.api.models import Alert, DeadLetter, Event, Payment, VisitRow

log = logging.getLogger("services.api.retention")


@dataclass(frozen=True)
class Policy:
    records_days: int
    snapshots_days: int

    def cutoffs(self, now: datetime) -> tuple[datetime | None, datetime | None]:
        """(records, snapshots): rows before these times go; None keeps them."""
        return (
            now - timedelta(days=self.records_days) if self.records_days else None,
            now - timedelta(days=self.snapshots_days) if self.snapshots_days else None,
        )


@dataclass(frozen=True)
class Purged:
    records_before: datetime | None
    snapshots_before: datetime | None
    events: int
    snapshots: int
    dead_letters: int = 0
    audit_entries: int = 0

    @property
    def any(self) -> bool:
        return bool(self.events or self.snapshots or self.dead_letters or self.audit_entries)

    def line(self, dry_run: bool = False) -> str:
        verb = "would purge" if dry_run else "purged"
        records = f"{self.events} event(s) before {_when(self.records_before)}"
        snapshots = f"{self.snapshots} snapshot(s) before {_when(self.snapshots_before)}"
        others = f"{self.dead_letters} dead letter(s); {self.audit_entries} audit entry(ies) redacted"
        return f"{verb} {records}; {snapshots}; {others}"


def _when(cutoff: datetime | None) -> str:
    return cutoff.isoformat(timespec="seconds") if cutoff else "never (kept forever)"


async def purge_records(s: AsyncSession, before: datetime, dry_run: bool) -> int:
    """Delete the events before `before`; a visit goes whole, so the exit of a visit that began before
    the cut-off goes with its entry. Sightings, visit rows, corrections and near-index rows cascade;
    payments (keyed by visit key) and alerts (they name plates) go too. The hourly roll-ups stay: they
    hold no plate, and last year's chart keeps its counts."""
    cutoff = utc_naive(before)
    exits = select(VisitRow.exit_pk).where(VisitRow.entry_time < cutoff, VisitRow.exit_pk.is_not(None))
    pks = set(await s.scalars(select(Event.id).where(Event.time < cutoff))) | set(await s.scalars(exits))
    if dry_run or not pks:
        return len(pks)
    keys = select(Event.event_id).where(Event.id.in_(pks))
    await s.execute(delete(Payment).where(Payment.visit_key.in_(keys)))
    await s.execute(delete(Alert).where(Alert.created_at < cutoff))
    return _count(await s.execute(delete(Event).where(Event.id.in_(pks))))


async def purge_dead_letters(s: AsyncSession, before: datetime, dry_run: bool) -> int:
    old = DeadLetter.received_at < utc_naive(before)
    if dry_run:
        return await s.scalar(select(func.count()).select_from(DeadLetter).where(old)) or 0
    return _count(await s.execute(delete(DeadLetter).where(old)))  # their chunks cascade


async def purge_snapshots(s: AsyncSession, before: datetime, dry_run: bool) -> int:
    old = (Event.time < utc_naive(before)) & Event.snapshot_ct.is_not(None)
    if dry_run:
        return await s.scalar(select(func.count()).select_from(Event).where(old)) or 0
    return _count(await s.execute(update(Event).where(old).values(snapshot_ct=None)))


def _count(result: Result) -> int:
    """Rows a DELETE or UPDATE changed."""
    return cast(CursorResult, result).rowcount


async def purge(
    sf: async_sessionmaker, policy: Policy, now: datetime, *, actor: str, dry_run: bool = False
) -> Purged:
    records_before, snapshots_before = policy.cutoffs(now)
    async with sf() as s, s.begin():
        events = dead = redacted = 0
        if records_before:
            events = await purge_records(s, records_before, dry_run)
            dead = await purge_dead_letters(s, records_before, dry_run)
            redacted = await audit.redact(s, records_before, dry_run)
        snapshots = await purge_snapshots(s, snapshots_before, dry_run) if snapshots_before else 0
        result = Purged(records_before, snapshots_before, events, snapshots, dead, redacted)
        if not dry_run and result.any:
            after = {
                "events": events,
                "snapshots": snapshots,
                "dead_letters": dead,
                "audit_entries_redacted": redacted,
                "records_before": _when(records_before),
                "snapshots_before": _when(snapshots_before),
            }
            await audit.record(s, actor=actor, action="purge", after=after)
    return result


async def purge_forever(
    sf: async_sessionmaker, policy: Policy, clock: Callable[[], datetime], interval_s: float
) -> None:
    """The service's own purge, every `interval_s`; a failure is logged and tried again next time."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            result = await purge(sf, policy, clock(), actor=audit.SERVICE_ACTOR)
        except Exception as exc:  # the database may be away; the next round tries again
            log.error("purge failed (%s); trying again in %.0fs", exc.__class__.__name__, interval_s)
            continue
        if result.any:
            log.info(result.line())

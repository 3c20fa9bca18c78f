"""The owner's corrections of events, kept beside them (never overwriting what the camera read):
a misread plate, two broken visits merged, a wrong pairing split, a false event voided.

Each correction appends a row holding the event's whole new state; the sightings table then shows the
event as corrected and its plate's visits and roll-ups re-pair (pairing.py), so every view, export and
statistic uses the corrected data.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from anpr.plates import normalize
from services.api import audit, pairing
from services.api.db import as_utc, utc_naive
from services.api.models import Event, EventCorrection, EventNearIndex, VisitRow
from services.api.schemas import CorrectionPublic, VisitPublic
from services.api.store import CORRECTIONS, EventStore, NotFound
from services.api.visits import Sighting


class Refused(ValueError):
    """A correction that cannot apply as asked (the message says what to change)."""


class Corrections:
    def __init__(self, store: EventStore, clock) -> None:  # noqa: ANN001 - the runtime's clock
        self._store = store
        self._clock = clock

    async def _event(self, s: AsyncSession, event_id: uuid.UUID) -> Event:
        row = await s.scalar(select(Event).where(Event.event_id == str(event_id)))
        if row is None:
            raise NotFound(str(event_id))
        return row

    async def _apply(
        self,
        s: AsyncSession,
        e: Event,
        *,
        actor: str,
        action: str,
        plate: str | None = None,
        voided: bool | None = None,
        split: bool | None = None,
    ) -> EventCorrection:
        """Append the event's new state, re-pair what it changes (caller holds the pairing lock) and
        record both states in the audit log."""
        store = self._store
        current = (await store.corrections_of(s, [e.id])).get(e.id)
        before = self._state(e, current)
        fix = EventCorrection(
            event_pk=e.id,
            plate_index=current.plate_index if current else None,
            plate_ct=current.plate_ct if current else None,
            voided=current.voided if current else False,
            split=current.split if current else False,
            created_at=utc_naive(self._clock()),
        )
        if plate is not None:
            fix.plate_index = store.keys.index.exact(plate)
            fix.plate_ct = store.keys.cipher.seal(CORRECTIONS, "plate", e.event_id, plate.encode())
            known = set(await s.scalars(select(EventNearIndex.digest).where(EventNearIndex.event_pk == e.id)))
            s.add_all(
                EventNearIndex(event_pk=e.id, digest=d)
                for d in store.keys.index.near(plate)
                if d not in known
            )
        if voided is not None:
            fix.voided = voided
        if split is not None:
            fix.split = split
        s.add(fix)
        await pairing.remove(s, e.id, store.max_stay, store.tz)
        if not fix.voided:
            key = fix.plate_index or e.plate_index
            sighting = Sighting(e.id, e.event_id, key, e.type, as_utc(e.time), e.camera, fix.split)
            await pairing.add(s, sighting, store.max_stay, store.tz)
        after = self._state(e, fix)
        await audit.record(s, actor=actor, action=action, subject=e.event_id, before=before, after=after)
        return fix

    def _state(self, e: Event, fix: EventCorrection | None) -> dict:
        """The event as the views see it (the plate is sealed in the audit log, never plain)."""
        store = self._store
        plate = store.corrected_plate(fix, e.event_id) if fix and fix.plate_ct else store.plate_of(e)
        return {
            "plate": plate,
            "voided": bool(fix and fix.voided),
            "split": bool(fix and fix.split),
        }

    def _public(self, e: Event, fix: EventCorrection, plate: str | None) -> CorrectionPublic:
        return CorrectionPublic(
            event_id=uuid.UUID(e.event_id),
            plate=plate,
            voided=fix.voided,
            split=fix.split,
            corrected_at=self._store.local(fix.created_at),
        )

    async def correct_plate(self, event_id: uuid.UUID, plate: str, actor: str) -> CorrectionPublic:
        plate = _plate(plate)
        async with self._store.pairing_lock, self._store.sf() as s:
            e = await self._event(s, event_id)
            fix = await self._apply(s, e, actor=actor, action="correction.plate", plate=plate)
            await s.commit()
        await self._store.corrected(e.event_id)
        return self._public(e, fix, plate)

    async def void(self, event_id: uuid.UUID, voided: bool, actor: str) -> CorrectionPublic:
        async with self._store.pairing_lock, self._store.sf() as s:
            e = await self._event(s, event_id)
            action = "correction.void" if voided else "correction.restore"
            fix = await self._apply(s, e, actor=actor, action=action, voided=voided)
            await s.commit()
        await self._store.corrected(e.event_id)
        return self._public(e, fix, None)

    async def _visit(self, s: AsyncSession, key: uuid.UUID) -> VisitRow:
        """The visit a visit key names: its entry's event id, or its exit's when it has no entry."""
        e = await self._event(s, key)
        row = await s.scalar(
            select(VisitRow).where(
                (VisitRow.entry_pk == e.id) | ((VisitRow.exit_pk == e.id) & VisitRow.entry_pk.is_(None))
            )
        )
        if row is None:
            raise NotFound(str(key))
        return row

    async def split(self, key: uuid.UUID, actor: str) -> list[VisitPublic]:
        """The visit's entry and exit must not pair: they become a visit without exit and one without
        entry."""
        async with self._store.pairing_lock, self._store.sf() as s:
            visit = await self._visit(s, key)
            if visit.entry_pk is None or visit.exit_pk is None:
                raise Refused("only a visit with both an entry and an exit can be split")
            exit_event = await s.get(Event, visit.exit_pk)
            assert exit_event is not None
            entry_pk, exit_pk = visit.entry_pk, visit.exit_pk
            await self._apply(s, exit_event, actor=actor, action="correction.split", split=True)
            await s.commit()
            rows = list(
                await s.scalars(
                    select(VisitRow)
                    .where((VisitRow.entry_pk == entry_pk) | (VisitRow.exit_pk == exit_pk))
                    .order_by(VisitRow.start_time)
                )
            )
            return await self._store.visits_public(s, rows)

    async def merge(self, first: uuid.UUID, second: uuid.UUID, actor: str) -> VisitPublic:
        """A visit without exit and a later one without entry (the exit misread) become one: the exit
        takes the entry's plate, as a plate correction."""
        store = self._store
        async with store.pairing_lock, store.sf() as s:
            a, b = await self._visit(s, first), await self._visit(s, second)
            entry, exit_ = (a, b) if a.entry_pk is not None else (b, a)
            if entry.entry_pk is None or entry.exit_pk is not None or exit_.entry_pk is not None:
                raise Refused("merge takes a visit without exit and a visit without entry")
            assert exit_.exit_pk is not None and entry.entry_time is not None and exit_.exit_time is not None
            if exit_.exit_time < entry.entry_time:
                raise Refused("the visit without entry must end after the visit without exit began")
            if as_utc(exit_.exit_time) - as_utc(entry.entry_time) > store.max_stay:
                raise Refused("the two are further apart than API_MAX_STAY_HOURS")
            plate = (await store.plates(s, {entry.plate_index}))[entry.plate_index]
            exit_event = await s.get(Event, exit_.exit_pk)
            assert exit_event is not None
            entry_pk = entry.entry_pk
            await self._apply(s, exit_event, actor=actor, action="correction.merge", plate=plate)
            await s.commit()
            merged = await s.scalar(select(VisitRow).where(VisitRow.entry_pk == entry_pk))
            assert merged is not None
            visit = (await store.visits_public(s, [merged]))[0]
        await store.corrected(exit_event.event_id)
        return visit

    async def history(self, event_id: uuid.UUID) -> list[CorrectionPublic]:
        """Every correction of the event, oldest first."""
        async with self._store.sf() as s:
            e = await self._event(s, event_id)
            rows = await s.scalars(
                select(EventCorrection).where(EventCorrection.event_pk == e.id).order_by(EventCorrection.id)
            )
            return [
                self._public(
                    e,
                    c,
                    self._store.corrected_plate(c, e.event_id) if c.plate_ct else None,
                )
                for c in rows
            ]


def _plate(plate: str) -> str:
    normalized = normalize(plate)
    if not normalized:
        raise Refused("plate has no letters or digits")
    return normalized

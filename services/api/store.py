"""Events in and out of the database: idempotent ingest, sealed fields, blind-index search, visits.

Plate searches never decrypt the table: the blind index narrows to a few plate identities, one plate
of each is decrypted and confirmed (exact equality, or `same_plate` for a tolerant search), and the
rows are then paged in SQL. Visits, occupancy and statistics read what ingest keeps ready
(pairing.py): visit rows and hourly roll-ups, so no query pairs or decrypts a whole range.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Select, func, insert, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased, defer

from anpr.messages import EventMessage, EventType, VehicleClass
from anpr.plates import normalize, same_plate
from services.api import pairing
from services.api import stats as stats_mod
from services.api.db import as_utc, utc_naive
from services.api.keyring import Keys
from services.api.models import Event, EventCorrection, EventNearIndex, HourlyStats, SightingRow, VisitRow
from services.api.schemas import (
    CandidatePublic,
    EventPublic,
    Occupancy,
    ParkedVehicle,
    Stats,
    VisitPage,
    VisitPublic,
)
from services.api.times import to_local
from services.api.visits import Sighting

TABLE = "events"
CORRECTIONS = "event_corrections"
#: How far back Inside looks for cars that never left: older open entries are lost exits, not cars.
OVERSTAY_LOOKBACK = timedelta(days=31)


class NotFound(LookupError):
    pass


@dataclass(frozen=True)
class PlateQuery:
    plate: str
    tolerant: bool = False

    @property
    def normalized(self) -> str:
        return normalize(self.plate)

    def confirms(self, plate: str) -> bool:
        return same_plate(self.normalized, plate) if self.tolerant else plate == self.normalized


@dataclass(frozen=True)
class EventFilter:
    plate: PlateQuery | None = None
    type: str | None = None
    camera: str | None = None
    since: datetime | None = None  # aware, inclusive
    until: datetime | None = None  # aware, exclusive


class EventStore:
    def __init__(
        self,
        sf: async_sessionmaker,
        keys: Keys,
        tz: tzinfo,
        clock: Callable[[], datetime],
        max_stay: timedelta,
    ) -> None:
        self.sf = sf
        self.keys = keys
        self.tz = tz
        self.clock = clock
        self.max_stay = max_stay
        # Re-pairing reads a plate's neighbours then writes: one change at a time (one process serves).
        self.pairing_lock = asyncio.Lock()

    # -- ingest ------------------------------------------------------------------------------------------
    async def ingest(self, event: EventMessage) -> bool:
        """Store `event` once: False when its event_id is already stored."""
        return await self.ingest_many([event]) == 1

    async def corrected(self, event_id: str) -> None:
        """A correction re-paired the event `event_id` (committed); the alerting store checks the visit
        it completes, as if the event had just arrived."""

    async def ingest_many(self, events: Sequence[EventMessage]) -> int:
        """Store a burst in one transaction (bulk inserts, pairing per burst), each event once; returns
        how many were new. Rows are the same as ingesting the events one by one, in any order."""
        async with self.pairing_lock:
            try:
                return await self._insert(events)
            except IntegrityError:
                # Some raced in through the other path (MQTT and HTTP): they are stored once, so the
                # retry finds them stored and skips them.
                return await self._insert(events)

    async def _insert(self, events: Sequence[EventMessage]) -> int:
        async with self.sf() as s:
            ids = [str(e.event_id) for e in events]
            stored = set(await s.scalars(select(Event.event_id).where(Event.event_id.in_(ids))))
            fresh = {eid: e for eid, e in zip(ids, events, strict=True) if eid not in stored}
            if not fresh:
                return 0
            received = utc_naive(self.clock())
            await s.execute(insert(Event), [self._row(eid, e, received) for eid, e in fresh.items()])
            pks = dict(
                (await s.execute(select(Event.event_id, Event.id).where(Event.event_id.in_(fresh)))).all()
            )
            near = self.keys.index.near
            await s.execute(
                insert(EventNearIndex),
                [{"event_pk": pks[eid], "digest": d} for eid, e in fresh.items() for d in near(e.plate)],
            )
            exact = self.keys.index.exact
            sightings = [
                Sighting(pks[eid], eid, exact(e.plate), e.type.value, as_utc(e.time), e.camera)
                for eid, e in fresh.items()
            ]
            await pairing.add_many(s, sightings, self.max_stay, self.tz)
            await s.commit()
        return len(fresh)

    def _row(self, eid: str, event: EventMessage, received: datetime) -> dict:
        seal = self.keys.cipher.seal
        candidates = json.dumps([{"text": c.text, "confidence": c.confidence} for c in event.candidates])
        return {
            "event_id": eid,
            "type": event.type.value,
            "camera": event.camera,
            "time": utc_naive(event.time),
            "first_seen": utc_naive(event.first_seen),
            "last_seen": utc_naive(event.last_seen),
            "vehicle_class": event.vehicle_class.value,
            "confidence": event.confidence,
            "read_count": event.read_count,
            "plate_index": self.keys.index.exact(event.plate),
            "plate_ct": seal(TABLE, "plate", eid, event.plate.encode()),
            "candidates_ct": seal(TABLE, "candidates", eid, candidates.encode()),
            "snapshot_ct": seal(TABLE, "snapshot", eid, event.snapshot_jpeg) if event.snapshot_jpeg else None,
            "received_at": received,
        }

    # -- plates ------------------------------------------------------------------------------------------
    def plate_of(self, row: Event) -> str:
        return self.keys.cipher.open(TABLE, "plate", row.event_id, row.plate_ct).decode()

    def corrected_plate(self, c: EventCorrection, event_id: str) -> str:
        assert c.plate_ct is not None
        return self.keys.cipher.open(CORRECTIONS, "plate", event_id, c.plate_ct).decode()

    def plate_from(self, event_id: str, plate_ct: bytes) -> str:
        """The plate an event was read as, from its row's columns."""
        return self.keys.cipher.open(TABLE, "plate", event_id, plate_ct).decode()

    async def corrected_plates(self, s: AsyncSession) -> dict[str, str]:
        """Every plate a correction gave, by blind-index value (few: corrections are made by hand)."""
        c = EventCorrection
        rows = await s.execute(
            select(c.plate_index, c, Event.event_id)
            .join(Event, Event.id == c.event_pk)
            .where(c.plate_index.is_not(None))
        )
        return {key: self.corrected_plate(fix, eid) for key, fix, eid in rows.all()}

    async def corrections_of(self, s: AsyncSession, pks: list[int]) -> dict[int, EventCorrection]:
        """Each event's current correction (its newest row), for those that have one."""
        if not pks:
            return {}
        rows = await s.scalars(
            select(EventCorrection).where(EventCorrection.event_pk.in_(pks)).order_by(EventCorrection.id)
        )
        return {c.event_pk: c for c in rows}

    async def plates(self, s: AsyncSession, keys: set[str]) -> dict[str, str]:
        """One decrypted plate per blind-index value (equal index, equal plate), as read or corrected."""
        if not keys:
            return {}
        sub = select(func.min(Event.id)).where(Event.plate_index.in_(keys)).group_by(Event.plate_index)
        rows = await s.execute(
            select(Event.event_id, Event.plate_index, Event.plate_ct).where(Event.id.in_(sub))
        )
        out = {key: self.keys.cipher.open(TABLE, "plate", eid, ct).decode() for eid, key, ct in rows.all()}
        missing = keys - out.keys()
        if missing:  # plates that exist only as corrections
            fixed = await s.execute(
                select(EventCorrection, Event.event_id)
                .join(Event, Event.id == EventCorrection.event_pk)
                .where(EventCorrection.plate_index.in_(missing))
            )
            for c, eid in fixed.all():
                if c.plate_index is not None:
                    out.setdefault(c.plate_index, self.corrected_plate(c, eid))
        return out

    async def plate_keys(self, s: AsyncSession, q: PlateQuery) -> set[str]:
        """The blind-index values of the plates `q` matches (tolerant: near ones, each confirmed)."""
        if not q.tolerant:
            return {self.keys.index.exact(q.normalized)}
        near = select(EventNearIndex.event_pk).where(
            EventNearIndex.digest.in_(self.keys.index.near(q.normalized))
        )
        keys = set(
            await s.scalars(select(SightingRow.plate_index).where(SightingRow.event_pk.in_(near)).distinct())
        )
        return {k for k, plate in (await self.plates(s, keys)).items() if q.confirms(plate)}

    # -- events ------------------------------------------------------------------------------------------
    def local(self, dt: datetime) -> datetime:
        return to_local(dt, self.tz)

    def public(
        self, row: Event, plate: str | None = None, has_snapshot: bool | None = None, candidates: bool = True
    ) -> EventPublic:
        cands = (
            json.loads(self.keys.cipher.open(TABLE, "candidates", row.event_id, row.candidates_ct))
            if candidates
            else []
        )
        read = self.plate_of(row)
        return EventPublic(
            event_id=uuid.UUID(row.event_id),
            type=EventType(row.type),
            plate=plate if plate is not None else read,
            read_as=read if plate not in (None, read) else None,
            confidence=row.confidence,
            camera=row.camera,
            time=self.local(row.time),
            first_seen=self.local(row.first_seen),
            last_seen=self.local(row.last_seen),
            vehicle_class=VehicleClass(row.vehicle_class),
            read_count=row.read_count,
            candidates=[CandidatePublic(**c) for c in cands],
            has_snapshot=has_snapshot if has_snapshot is not None else row.snapshot_ct is not None,
        )

    def event_conditions(self, f: EventFilter, keys: set[str] | None) -> list:
        """The filter on sightings (events as corrected); `keys`: the plates' blind-index values."""
        x = SightingRow
        conds = [] if keys is None else [x.plate_index.in_(keys)]
        if f.type is not None:
            conds.append(x.type == f.type)
        if f.camera is not None:
            conds.append(x.camera == f.camera)
        if f.since is not None:
            conds.append(x.time >= utc_naive(f.since))
        if f.until is not None:
            conds.append(x.time < utc_naive(f.until))
        return conds

    async def _events(self, s: AsyncSession, pks: list[int], candidates: bool = True) -> list[EventPublic]:
        """The events of `pks`, in that order, as corrected; snapshots are not read, only flagged
        (nor candidates, unless asked: exports carry none)."""
        skipped = [Event.snapshot_ct] if candidates else [Event.snapshot_ct, Event.candidates_ct]
        stmt = select(Event, Event.snapshot_ct.is_not(None)).options(*(defer(c) for c in skipped))
        rows = {e.id: (e, snap) for e, snap in (await s.execute(stmt.where(Event.id.in_(pks)))).all()}
        fixes = await self.corrections_of(s, pks)
        out = []
        for pk in pks:
            if pk not in rows:  # purged since its page was chosen
                continue
            e, snap = rows[pk]
            fix = fixes.get(pk)
            plate = self.corrected_plate(fix, e.event_id) if fix and fix.plate_ct else None
            out.append(self.public(e, plate, bool(snap), candidates))
        return out

    async def search(self, f: EventFilter, limit: int, offset: int) -> tuple[list[EventPublic], int]:
        async with self.sf() as s:
            keys = await self.plate_keys(s, f.plate) if f.plate is not None else None
            if keys is not None and not keys:
                return [], 0
            stmt = select(SightingRow.event_pk).where(*self.event_conditions(f, keys))
            if keys is None and f.camera is None:
                total = await self._count_from_rollups(s, f)
            else:  # a plate's events are few; a camera's are counted from the rows
                total = await s.scalar(select(func.count()).select_from(stmt.subquery()))
            page = (
                stmt.order_by(SightingRow.time.desc(), SightingRow.event_pk.desc())
                .limit(limit)
                .offset(offset)
            )
            pks = list(await s.scalars(page))
            return await self._events(s, pks), int(total or 0)

    async def _count_from_rollups(self, s: AsyncSession, f: EventFilter) -> int:
        """How many events `f` (no plate, no camera) matches: the whole hours of its range from the
        roll-ups (a year is 8,784 rows, where counting the rows reads ~200,000 index entries), the
        part-hours at either end from the rows."""
        h, x = HourlyStats, SightingRow
        lo = utc_naive(f.since) if f.since is not None else None
        hi = utc_naive(f.until) if f.until is not None else None
        first = pairing.hour_of(lo) if lo is not None else None
        if first is not None and lo is not None and first < lo:
            first += timedelta(hours=1)
        last = pairing.hour_of(hi) if hi is not None else None
        kind = () if f.type is None else (x.type == f.type,)
        if first is not None and last is not None and first >= last:  # within one hour
            return await s.scalar(select(func.count()).where(x.time >= lo, x.time < hi, *kind)) or 0
        columns = {"entry": h.entries, "exit": h.exits}
        counted = columns[f.type] if f.type is not None else h.entries + h.exits
        hours = [
            c for c in (h.hour >= first if first else None, h.hour < last if last else None) if c is not None
        ]
        total = await s.scalar(select(func.coalesce(func.sum(counted), 0)).where(*hours)) or 0
        for a, b in ((lo, first), (last, hi)):
            if a is not None and b is not None and a < b:
                total += await s.scalar(select(func.count()).where(x.time >= a, x.time < b, *kind)) or 0
        return int(total)

    async def snapshot(self, event_id: uuid.UUID) -> bytes:
        eid = str(event_id)
        async with self.sf() as s:
            row = await s.scalar(select(Event).where(Event.event_id == eid))
        if row is None or row.snapshot_ct is None:
            raise NotFound(eid)
        return self.keys.cipher.open(TABLE, "snapshot", eid, row.snapshot_ct)

    # -- visits ------------------------------------------------------------------------------------------
    def visit_conditions(self, since: datetime, until: datetime, keys: set[str] | None) -> list:
        conds = [VisitRow.start_time >= utc_naive(since), VisitRow.start_time < utc_naive(until)]
        if keys is not None:
            conds.append(VisitRow.plate_index.in_(keys))
        return conds

    async def _visit_events(
        self, s: AsyncSession, rows: list[VisitRow]
    ) -> tuple[dict[int, tuple[str, str]], dict[str, str]]:
        """The visits' events (pk -> event id, camera) and plates: each decrypted from one of its own
        visits' events that still carries it (one round trip), from the corrections otherwise."""
        pks = [pk for v in rows for pk in (v.entry_pk, v.exit_pk) if pk is not None]
        stmt = select(Event.id, Event.event_id, Event.camera, Event.plate_index, Event.plate_ct)
        found = {pk: rest for pk, *rest in (await s.execute(stmt.where(Event.id.in_(pks)))).all()}
        plates: dict[str, str] = {}
        for v in rows:
            for pk in (v.entry_pk, v.exit_pk):
                if pk in found and v.plate_index not in plates and found[pk][2] == v.plate_index:
                    plates[v.plate_index] = self.plate_from(found[pk][0], found[pk][3])
        missing = {v.plate_index for v in rows} - plates.keys()
        if missing:
            plates |= await self.plates(s, missing)
        return {pk: (eid, camera) for pk, (eid, camera, _, _) in found.items()}, plates

    async def visits_public(self, s: AsyncSession, rows: list[VisitRow]) -> list[VisitPublic]:
        events, plates = await self._visit_events(s, rows)
        now = self.clock()
        out = []
        for v in rows:
            status = pairing.status_at(v, now, self.max_stay)
            entry = events.get(v.entry_pk) if v.entry_pk else None
            exit_ = events.get(v.exit_pk) if v.exit_pk else None
            parked = status == "parked" and v.entry_time is not None
            parked_s = (now - as_utc(v.entry_time)).total_seconds() if parked and v.entry_time else None
            out.append(
                VisitPublic(
                    plate=plates[v.plate_index],
                    status=status,  # type: ignore[arg-type]
                    entry_event_id=uuid.UUID(entry[0]) if entry else None,
                    entry_time=self.local(v.entry_time) if v.entry_time else None,
                    entry_camera=entry[1] if entry else None,
                    exit_event_id=uuid.UUID(exit_[0]) if exit_ else None,
                    exit_time=self.local(v.exit_time) if v.exit_time else None,
                    exit_camera=exit_[1] if exit_ else None,
                    duration_s=v.duration_s if status == "completed" else parked_s,
                )
            )
        return out

    async def visit_page(
        self, since: datetime, until: datetime, plate: PlateQuery | None, limit: int, offset: int
    ) -> VisitPage:
        """Visits that began (or, without entry, ended) in [since, until), newest first: one page, and
        the range's totals counted in SQL."""
        async with self.sf() as s:
            keys = await self.plate_keys(s, plate) if plate is not None else None
            if keys is not None and not keys:
                return VisitPage(items=[], total=0, limit=limit, offset=offset, completed=0, avg_stay_s=None)
            conds = self.visit_conditions(since, until, keys)
            total, completed, stay = (
                await s.execute(
                    select(
                        func.count(), func.count(VisitRow.duration_s), func.sum(VisitRow.duration_s)
                    ).where(*conds)
                )
            ).one()
            rows = list(
                await s.scalars(
                    select(VisitRow)
                    .where(*conds)
                    .order_by(VisitRow.start_time.desc(), VisitRow.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            )
            items = await self.visits_public(s, rows)
        return VisitPage(
            items=items,
            total=total,
            limit=limit,
            offset=offset,
            completed=completed,
            avg_stay_s=round(stay / completed, 1) if completed else None,
        )

    async def visit_by_key(self, key: str) -> VisitPublic | None:
        """The visit whose key is `key`: its entry's event id, or its exit's when it has no entry."""
        async with self.sf() as s:
            pk = await s.scalar(select(Event.id).where(Event.event_id == key))
            if pk is None:
                return None
            by_entry = VisitRow.entry_pk == pk
            by_exit = (VisitRow.exit_pk == pk) & VisitRow.entry_pk.is_(None)
            row = await s.scalar(select(VisitRow).where(by_entry | by_exit))
            return (await self.visits_public(s, [row]))[0] if row is not None else None

    async def visits_ended(self, since: datetime, until: datetime) -> list[VisitPublic]:
        """Completed visits whose exit is in [since, until) (revenue is counted when a car leaves)."""
        async with self.sf() as s:
            stmt = select(VisitRow).where(
                VisitRow.exit_time >= utc_naive(since),
                VisitRow.exit_time < utc_naive(until),
                VisitRow.entry_pk.is_not(None),
            )
            return await self.visits_public(s, list(await s.scalars(stmt)))

    # -- occupancy, stats --------------------------------------------------------------------------------
    async def occupancy(self, at: datetime | None = None) -> Occupancy:
        at = at or self.clock()
        limit = at - self.max_stay

        def open_at(lo: datetime, hi: datetime) -> Select:
            # Entered in [lo, hi) and nothing of that plate seen again before `at`: two index ranges
            # on (open_until, entry_time), where one OR would read every visit of the month.
            v = VisitRow
            entered = (v.entry_time >= utc_naive(lo), v.entry_time < utc_naive(hi))
            still = select(v).where(v.open_until.is_(None), *entered)
            later = select(v).where(v.open_until >= utc_naive(at), *entered)
            both = union_all(still, later).subquery()
            return select(aliased(VisitRow, both)).order_by(both.c.entry_time.desc())

        async with self.sf() as s:
            parked = list(await s.scalars(open_at(limit, at)))
            over = list(await s.scalars(open_at(limit - OVERSTAY_LOOKBACK, limit)))
            rows = parked + over
            found, plates = await self._visit_events(s, rows)
            events = {pk: eid for pk, (eid, _) in found.items()}

        def vehicle(v: VisitRow) -> ParkedVehicle:
            assert v.entry_time is not None and v.entry_pk is not None  # selected by entry time
            return ParkedVehicle(
                plate=plates[v.plate_index],
                entry_event_id=uuid.UUID(events[v.entry_pk]),
                entry_time=self.local(v.entry_time),
                parked_s=(at - as_utc(v.entry_time)).total_seconds(),
            )

        return Occupancy(
            at=self.local(at),
            timezone=str(self.tz),
            count=len(parked),
            vehicles=[vehicle(v) for v in parked],
            overstays=[vehicle(v) for v in over],
        )

    async def stats(self, since: datetime, until: datetime, interval: stats_mod.Interval) -> Stats:
        """Whole hours from the roll-ups; the part-hours at either end of the range from the rows."""
        first, last = pairing.whole_hours(since, until)
        async with self.sf() as s:
            if first < last:
                hours = await pairing.rolled_up(s, first, last)
                edges = [(utc_naive(since), first), (last, utc_naive(until))]
            else:
                hours = stats_mod.Hours(first, len(pairing.STAT_COLUMNS))
                edges = [(utc_naive(since), utc_naive(until))]
            parts = pairing.new_deltas()
            for lo, hi in edges:
                if lo < hi:
                    await self._count_rows(s, lo, hi, parts)
        for hour, counts in parts.items():
            hours.add(hour, counts)
        buckets = stats_mod.buckets(hours, since, until, interval, self.tz)
        return Stats.model_construct(interval=interval, timezone=str(self.tz), buckets=buckets)

    async def _count_rows(
        self, s: AsyncSession, lo: datetime, hi: datetime, per_hour: pairing.Deltas
    ) -> None:
        sightings = await s.execute(
            select(SightingRow.type, SightingRow.time).where(SightingRow.time >= lo, SightingRow.time < hi)
        )
        for kind, t in sightings.all():
            pairing.count_sighting(per_hour, kind, t, +1)
        stays = await s.execute(
            select(VisitRow.exit_time, VisitRow.duration_s).where(
                VisitRow.exit_time >= lo, VisitRow.exit_time < hi, VisitRow.duration_s.is_not(None)
            )
        )
        for exit_time, stay in stays.all():
            pairing.count_visit(per_hour, exit_time, stay, +1)

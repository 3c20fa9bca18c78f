"""Events in and out of the database: idempotent ingest, sealed fields, blind-index search, visits.

Plate searches never decrypt the table: the blind index narrows to candidate rows, and only those
are decrypted and confirmed (exact equality, or `same_plate` for a tolerant search).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from anpr.messages import EventMessage, EventType, VehicleClass
from anpr.plates import normalize, same_plate
from services.api import stats as stats_mod
from services.api.db import as_utc, utc_naive
from services.api.keyring import Keys
from services.api.models import Event, EventNearIndex
from services.api.schemas import (
    CandidatePublic,
    EventPublic,
    Occupancy,
    ParkedVehicle,
    Stats,
    VisitPublic,
)
from services.api.times import to_local
from services.api.visits import Sighting, Visit, pair_visits

TABLE = "events"
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
        self._sf = sf
        self._keys = keys
        self.tz = tz
        self._clock = clock
        self.max_stay = max_stay

    # -- ingest ------------------------------------------------------------------------------------------
    async def ingest(self, event: EventMessage) -> bool:
        """Store `event` once: False when its event_id is already stored."""
        eid = str(event.event_id)
        seal = self._keys.cipher.seal
        candidates = json.dumps([{"text": c.text, "confidence": c.confidence} for c in event.candidates])
        async with self._sf() as s:
            if await s.scalar(select(Event.id).where(Event.event_id == eid)) is not None:
                return False
            row = Event(
                event_id=eid,
                type=event.type.value,
                camera=event.camera,
                time=utc_naive(event.time),
                first_seen=utc_naive(event.first_seen),
                last_seen=utc_naive(event.last_seen),
                vehicle_class=event.vehicle_class.value,
                confidence=event.confidence,
                read_count=event.read_count,
                plate_index=self._keys.index.exact(event.plate),
                plate_ct=seal(TABLE, "plate", eid, event.plate.encode()),
                candidates_ct=seal(TABLE, "candidates", eid, candidates.encode()),
                snapshot_ct=seal(TABLE, "snapshot", eid, event.snapshot_jpeg)
                if event.snapshot_jpeg
                else None,
                received_at=utc_naive(self._clock()),
            )
            s.add(row)
            try:
                await s.flush()
                s.add_all(
                    EventNearIndex(event_pk=row.id, digest=d) for d in self._keys.index.near(event.plate)
                )
                await s.commit()
            except IntegrityError:
                # The same event raced in through the other path (MQTT and HTTP); it is stored once.
                await s.rollback()
                if await s.scalar(select(Event.id).where(Event.event_id == eid)) is not None:
                    return False
                raise
        return True

    # -- reading -----------------------------------------------------------------------------------------
    def plate_of(self, row: Event) -> str:
        return self._keys.cipher.open(TABLE, "plate", row.event_id, row.plate_ct).decode()

    def local(self, dt: datetime) -> datetime:
        return to_local(dt, self.tz)

    def public(self, row: Event, plate: str | None = None) -> EventPublic:
        cands = json.loads(self._keys.cipher.open(TABLE, "candidates", row.event_id, row.candidates_ct))
        return EventPublic(
            event_id=uuid.UUID(row.event_id),
            type=EventType(row.type),
            plate=plate if plate is not None else self.plate_of(row),
            confidence=row.confidence,
            camera=row.camera,
            time=self.local(row.time),
            first_seen=self.local(row.first_seen),
            last_seen=self.local(row.last_seen),
            vehicle_class=VehicleClass(row.vehicle_class),
            read_count=row.read_count,
            candidates=[CandidatePublic(**c) for c in cands],
            has_snapshot=row.snapshot_ct is not None,
        )

    def _plate_clause(self, q: PlateQuery):  # noqa: ANN202 - a SQL expression
        if q.tolerant:
            near = select(EventNearIndex.event_pk).where(
                EventNearIndex.digest.in_(self._keys.index.near(q.normalized))
            )
            return Event.id.in_(near)
        return Event.plate_index == self._keys.index.exact(q.normalized)

    def _filtered(self, f: EventFilter) -> Select:
        stmt = select(Event)
        if f.plate is not None:
            stmt = stmt.where(self._plate_clause(f.plate))
        if f.type is not None:
            stmt = stmt.where(Event.type == f.type)
        if f.camera is not None:
            stmt = stmt.where(Event.camera == f.camera)
        if f.since is not None:
            stmt = stmt.where(Event.time >= utc_naive(f.since))
        if f.until is not None:
            stmt = stmt.where(Event.time < utc_naive(f.until))
        return stmt.order_by(Event.time.desc(), Event.id.desc())

    async def search(self, f: EventFilter, limit: int, offset: int) -> tuple[list[EventPublic], int]:
        async with self._sf() as s:
            stmt = self._filtered(f)
            if f.plate is None:
                total = await s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
                rows = list(await s.scalars(stmt.limit(limit).offset(offset)))
                return [self.public(r) for r in rows], int(total or 0)
            # Blind-index candidates are few; each is decrypted and confirmed before paging.
            confirmed = [(r, p) for r in await s.scalars(stmt) if f.plate.confirms(p := self.plate_of(r))]
        page = confirmed[offset : offset + limit]
        return [self.public(r, p) for r, p in page], len(confirmed)

    async def all_events(self, f: EventFilter) -> list[EventPublic]:
        items, _ = await self.search(f, limit=10**9, offset=0)
        return items

    async def snapshot(self, event_id: uuid.UUID) -> bytes:
        eid = str(event_id)
        async with self._sf() as s:
            row = await s.scalar(select(Event).where(Event.event_id == eid))
        if row is None or row.snapshot_ct is None:
            raise NotFound(eid)
        return self._keys.cipher.open(TABLE, "snapshot", eid, row.snapshot_ct)

    # -- visits, occupancy, stats ------------------------------------------------------------------------
    async def _sightings(self, since: datetime, until: datetime, plate: PlateQuery | None) -> list[Sighting]:
        cols: Sequence = (Event.id, Event.event_id, Event.plate_index, Event.type, Event.time, Event.camera)
        stmt = select(*cols).where(Event.time >= utc_naive(since), Event.time < utc_naive(until))
        if plate is not None:
            stmt = stmt.where(self._plate_clause(plate))
        async with self._sf() as s:
            rows = (await s.execute(stmt)).all()
        return [Sighting(r[0], r[1], r[2], r[3], as_utc(r[4]), r[5]) for r in rows]

    async def _plates(self, keys: set[str]) -> dict[str, str]:
        """One decrypted plate per blind-index value (equal index, equal plate)."""
        if not keys:
            return {}
        async with self._sf() as s:
            sub = select(func.min(Event.id)).where(Event.plate_index.in_(keys)).group_by(Event.plate_index)
            rows = await s.scalars(select(Event).where(Event.id.in_(sub)))
            return {r.plate_index: self.plate_of(r) for r in rows}

    async def visit_list(
        self, since: datetime, until: datetime, plate: PlateQuery | None
    ) -> list[VisitPublic]:
        now = self._clock()
        window_end = min(until + self.max_stay, now + timedelta(seconds=1))
        visits = pair_visits(
            await self._sightings(since - self.max_stay, window_end, plate), now, self.max_stay
        )
        visits = [v for v in visits if since <= v.sort_time < until]
        plates = await self._plates({v.plate_key for v in visits})
        out = [self._visit_public(v, plates[v.plate_key]) for v in visits]
        return [v for v in out if plate is None or plate.confirms(v.plate)]

    def _visit_public(self, v: Visit, plate: str) -> VisitPublic:
        return VisitPublic(
            plate=plate,
            status=v.status,  # type: ignore[arg-type]
            entry_event_id=uuid.UUID(v.entry.event_id) if v.entry else None,
            entry_time=self.local(v.entry.time) if v.entry else None,
            entry_camera=v.entry.camera if v.entry else None,
            exit_event_id=uuid.UUID(v.exit.event_id) if v.exit else None,
            exit_time=self.local(v.exit.time) if v.exit else None,
            exit_camera=v.exit.camera if v.exit else None,
            duration_s=v.duration_s,
        )

    async def occupancy(self, at: datetime | None = None) -> Occupancy:
        at = at or self._clock()
        since = at - self.max_stay - OVERSTAY_LOOKBACK
        visits = pair_visits(await self._sightings(since, at, None), at, self.max_stay)
        latest: dict[str, Visit] = {}
        for v in visits:  # newest first
            latest.setdefault(v.plate_key, v)
        parked = [v for v in visits if v.status == "parked"]
        # A plate whose last sighting is an entry older than the longest stay: still inside, overstaying.
        over = [v for v in latest.values() if v.status == "no_exit" and at - self.max_stay > v.sort_time]
        plates = await self._plates({v.plate_key for v in parked + over})

        def vehicle(v: Visit) -> ParkedVehicle:
            assert v.entry is not None
            return ParkedVehicle(
                plate=plates[v.plate_key],
                entry_event_id=uuid.UUID(v.entry.event_id),
                entry_time=self.local(v.entry.time),
                parked_s=(at - v.entry.time).total_seconds(),
            )

        return Occupancy(
            at=self.local(at),
            timezone=str(self.tz),
            count=len(parked),
            vehicles=[vehicle(v) for v in parked],
            overstays=[vehicle(v) for v in over],
        )

    async def stats(self, since: datetime, until: datetime, interval: stats_mod.Interval) -> Stats:
        sightings = await self._sightings(since - self.max_stay, until, None)
        events = [(s.time, s.type) for s in sightings if s.time >= since]
        visits = pair_visits(sightings, until, self.max_stay)
        stays = [
            (v.exit.time, v.duration_s)
            for v in visits
            if v.status == "completed"
            and v.exit is not None
            and v.duration_s is not None
            and v.exit.time >= since
        ]
        buckets = stats_mod.buckets(events, stays, since, until, interval, self.tz)
        return Stats(interval=interval, timezone=str(self.tz), buckets=buckets)

"""CSV exports built straight from the columns they print.

A busy month is ~16,000 events and ~8,000 visits, and the Pi must stream it in about a second: no
object per row. Each chunk is one keyset-paged query of plain columns (the visits' events and payments
joined in), each plate is decrypted once per export (by its blind index), lot-local times come from one
UTC offset per quarter hour, and only cars still inside are charged here (a completed visit's fee was
fixed when it was paired).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from services.api.billing import Billing, ticket_id
from services.api.db import as_utc
from services.api.models import Event, Payment, SightingRow, VisitRow
from services.api.pairing import status_at
from services.api.store import EventFilter, EventStore, PlateQuery
from services.api.times import to_local

CHUNK = 5000  # rows per round trip: few trips, bounded memory

EVENT_HEADER = (
    "event_id",
    "type",
    "plate",
    "confidence",
    "camera",
    "time",
    "first_seen",
    "last_seen",
    "vehicle_class",
    "read_count",
)
#: Fee in minor units with its ISO 4217 currency; final is "no" for a car still inside (fee so far).
BILLING_COLUMNS = ("ticket_id", "fee_minor_units", "currency", "fee_final", "payment")
VISIT_HEADER = (
    "plate",
    "status",
    "entry_time",
    "exit_time",
    "duration_s",
    "duration",
    "entry_camera",
    "exit_camera",
    "entry_event_id",
    "exit_event_id",
    *BILLING_COLUMNS,
)


class LocalText:
    """Stored (naive UTC) times as spreadsheets read them in the lot's zone: no offset, no fraction.
    Zone offsets change only on quarter hours, so one conversion per quarter hour serves every row."""

    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz
        self._offsets: dict[tuple[int, int, int, int, int], timedelta] = {}

    def __call__(self, t: datetime | None) -> str:
        if t is None:
            return ""
        quarter = (t.year, t.month, t.day, t.hour, t.minute // 15)
        offset = self._offsets.get(quarter)
        if offset is None:
            offset = self._offsets[quarter] = to_local(t, self._tz).utcoffset() or timedelta()
        try:
            local = t + offset
        except OverflowError:  # within a day of year 1 or 9999: to_local's answer, UTC
            local = to_local(t, self._tz).replace(tzinfo=None)
        return local.isoformat(sep=" ", timespec="seconds")


def hmm(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


class Plates:
    """Each plate of an export decrypted once, as chunks name new blind-index values."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._known: dict[str, str] = {}

    async def text(self, s, keys: set[str]) -> dict[str, str]:  # noqa: ANN001 - an AsyncSession
        missing = keys - self._known.keys()
        if missing:
            self._known.update(await self._store.plates(s, missing))
        return self._known


async def _chunks(store: EventStore, stmt: Select, order: tuple, key_columns: int) -> AsyncIterator[list]:
    """`stmt`'s rows newest first, CHUNK at a time, each row ending with its `key_columns` sort keys
    (keyset paging: a constant cost per chunk however deep)."""
    a, b = order
    last = None
    while True:
        page = stmt if last is None else stmt.where((a < last[0]) | ((a == last[0]) & (b < last[1])))
        async with store.sf() as s:
            rows = (await s.execute(page.order_by(a.desc(), b.desc()).limit(CHUNK))).all()
            if not rows:
                return
            yield s, rows
        last = tuple(rows[-1][-key_columns:])


async def event_rows(store: EventStore, f: EventFilter) -> AsyncIterator[list]:
    """Every matching event as a CSV row (EVENT_HEADER), newest first, plates as corrected."""
    async with store.sf() as s:
        keys = await store.plate_keys(s, f.plate) if f.plate is not None else None
    if keys is not None and not keys:
        return
    x, e = SightingRow, Event
    stmt = (
        select(
            e.event_id,
            e.type,
            x.plate_index,
            e.confidence,
            e.camera,
            e.time,
            e.first_seen,
            e.last_seen,
            e.vehicle_class,
            e.read_count,
            x.time,
            x.event_pk,
        )
        .join(e, e.id == x.event_pk)
        .where(*store.event_conditions(f, keys))
    )
    local, plates = LocalText(store.tz), Plates(store)
    async for s, rows in _chunks(store, stmt, (x.time, x.event_pk), 2):
        text = await plates.text(s, {r[2] for r in rows})
        for eid, kind, key, conf, camera, t, first, last, vclass, reads, _, _ in rows:
            yield [
                eid,
                kind,
                text[key],
                f"{conf:.3f}",
                camera,
                local(t),
                local(first),
                local(last),
                vclass,
                reads,
            ]


async def visit_rows(
    store: EventStore, billing: Billing, since: datetime, until: datetime, plate: PlateQuery | None
) -> AsyncIterator[list]:
    """Every visit of the range as a CSV row (VISIT_HEADER), newest first, billed."""
    async with store.sf() as s:
        keys = await store.plate_keys(s, plate) if plate is not None else None
    if keys is not None and not keys:
        return
    v, entry, exit_ = VisitRow, aliased(Event), aliased(Event)
    stmt = (
        select(
            v.plate_index,
            v.entry_pk,
            v.exit_pk,
            v.entry_time,
            v.exit_time,
            v.open_until,
            v.duration_s,
            v.fee_amount,
            v.fee_currency,
            entry.event_id.label("entry_id"),
            entry.camera.label("entry_camera"),
            exit_.event_id.label("exit_id"),
            exit_.camera.label("exit_camera"),
            v.start_time,
            v.id,
        )
        .outerjoin(entry, entry.id == v.entry_pk)
        .outerjoin(exit_, exit_.id == v.exit_pk)
        .where(*store.visit_conditions(since, until, keys))
    )
    local, plates, now = LocalText(store.tz), Plates(store), store.clock()
    async for s, rows in _chunks(store, stmt, (v.start_time, v.id), 2):
        text = await plates.text(s, {r.plate_index for r in rows})
        ids = [r.entry_id or r.exit_id for r in rows]
        paid = dict(
            (
                await s.execute(select(Payment.visit_key, Payment.status).where(Payment.visit_key.in_(ids)))
            ).all()
        )
        status = [status_at(r, now, store.max_stay) for r in rows]
        inside = [
            (text[r.plate_index], r.entry_time) for r, st in zip(rows, status, strict=True) if st == "parked"
        ]
        so_far = iter(await billing.fees_so_far(inside, now))
        for r, st, key in zip(rows, status, ids, strict=True):
            stay = r.duration_s if st == "completed" else None
            fee_cells = ["", "", ""]
            if st == "parked":
                stay = (now - as_utc(r.entry_time)).total_seconds()
                charged = next(so_far)
                if charged is not None:
                    fee_cells = [str(charged.amount), charged.currency, "no"]
            elif st == "completed" and r.fee_amount is not None:
                fee_cells = [str(r.fee_amount), r.fee_currency, "yes"]
            yield [
                text[r.plate_index],
                st,
                local(r.entry_time),
                local(r.exit_time),
                "" if stay is None else f"{stay:.0f}",
                hmm(stay),
                r.entry_camera or "",
                r.exit_camera or "",
                r.entry_id or "",
                r.exit_id or "",
                ticket_id(key),
                *fee_cells,
                paid.get(key, "unpaid"),
            ]

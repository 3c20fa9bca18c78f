"""CSV exports, composed by the database and streamed page by page.

A busy month is ~16,000 events and ~8,000 visits, and the Pi must stream it in about a second. Reading
rows through the pure-Python driver costs per field, datetimes most: so the database writes each row's
safe fields as text (lot-local times included: the zone's offsets over the range are handed to it as a
CASE), keyset pages of CHUNK rows are read whole, and Python only adds what needs a key: the plate
(each decrypted once per export), ticket ids and the fee so far of a car still inside.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, String, and_, case, cast, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from services.api.billing import Billing, ticket_id
from services.api.db import as_utc, utc_naive
from services.api.models import Event, Payment, SightingRow, VisitRow
from services.api.store import EventFilter, EventStore, PlateQuery
from services.api.times import utc_offsets

CHUNK = 5000  # rows per page: ~1.5 MB at most in memory, and few round trips

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


class shifted_text(FunctionElement):
    """A naive datetime plus an offset in seconds, as 'YYYY-MM-DD HH:MM:SS' (seconds truncated)."""

    type = String()
    inherit_cache = True


@compiles(shifted_text, "mysql")
def _shifted_maria(element: shifted_text, compiler, **kw) -> str:  # noqa: ANN001
    col, offset = (compiler.process(c, **kw) for c in element.clauses)
    layout = compiler.process(literal("%Y-%m-%d %H:%i:%s"), **kw)  # bound: no % escaping in the SQL
    return f"DATE_FORMAT(DATE_ADD({col}, INTERVAL {offset} SECOND), {layout})"


@compiles(shifted_text, "sqlite")
def _shifted_lite(element: shifted_text, compiler, **kw) -> str:  # noqa: ANN001
    col, offset = (compiler.process(c, **kw) for c in element.clauses)
    return f"strftime('%Y-%m-%d %H:%M:%S', {col}, ({offset}) || ' seconds')"


def local_text(col: ColumnElement, segments: list[tuple[datetime, int]]) -> ColumnElement:
    """`col` (naive UTC) as lot-local text for the CSV, '' when NULL."""
    offset: ColumnElement = literal(segments[-1][1])
    if len(segments) > 1:  # before each change, the offset that held until it
        whens = [
            (col < start, literal(prev))
            for (start, _), (_, prev) in zip(segments[1:], segments[:-1], strict=True)
        ]
        offset = case(*whens, else_=offset)
    return func.coalesce(shifted_text(col, offset), "")


def joined(parts: Sequence[ColumnElement]) -> ColumnElement:
    """`parts` as one comma-separated text (each already CSV-safe: ids, enums, numbers, cameras)."""
    out = parts[0]
    for part in parts[1:]:
        out = out.concat(",").concat(part)
    return out


def hmm(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


async def _range(store: EventStore, column: ColumnElement, conds: list, lo, hi) -> tuple | None:  # noqa: ANN001
    """[lo, hi] of the export, from the rows themselves where a bound is open; None when no row."""
    if lo is not None and hi is not None:
        return utc_naive(lo), utc_naive(hi)
    async with store.sf() as s:
        first, last = (await s.execute(select(func.min(column), func.max(column)).where(*conds))).one()
    if first is None:
        return None
    return (utc_naive(lo) if lo is not None else first), (utc_naive(hi) if hi is not None else last)


class Plates:
    """Each plate of an export decrypted once: from the first row that names its blind-index value
    (the row's own event, or its visit's first event), or from the corrections when a correction gave it."""

    def __init__(self, store: EventStore, corrected: dict[str, str]) -> None:
        self._store = store
        self._known = dict(corrected)

    def text(self, key: str, event_id: str, plate_ct: bytes) -> str:
        plate = self._known.get(key)
        if plate is None:
            plate = self._known[key] = self._store.plate_from(event_id, plate_ct)
        return plate

    @classmethod
    async def of(cls, store: EventStore) -> Plates:
        async with store.sf() as s:
            return cls(store, await store.corrected_plates(s))


async def _pages(store: EventStore, stmt, order: tuple) -> AsyncIterator[Sequence]:  # noqa: ANN001
    """`stmt`'s rows, newest first by `order` (a time and the primary key; each row ends with the key),
    CHUNK rows per round trip. Keyset pages, each read whole: streaming row by row through the
    driver costs half again as much. Only the last row's time is read back, by its key."""
    t, pk = order
    after = None
    while True:
        # `t <= after` first: a range the index serves (an OR alone would read the whole range again)
        page = stmt if after is None else stmt.where(t <= after[0], (t < after[0]) | (pk < after[1]))
        async with store.sf() as s:
            rows = (await s.execute(page.order_by(t.desc(), pk.desc()).limit(CHUNK))).all()
            if not rows:
                return
            last = rows[-1][-1]
            after = (await s.scalar(select(t).where(pk == last)), last)
        for row in rows:
            yield row
        if len(rows) < CHUNK:
            return


async def event_lines(store: EventStore, f: EventFilter) -> AsyncIterator[str]:
    """Every matching event as a CSV line (EVENT_HEADER), newest first, plates as corrected."""
    async with store.sf() as s:
        keys = await store.plate_keys(s, f.plate) if f.plate is not None else None
    if keys is not None and not keys:
        return
    x, e = SightingRow, Event
    conds = store.event_conditions(f, keys)
    span = await _range(store, x.time, conds, f.since, f.until)
    if span is None:
        return
    zone = utc_offsets(store.tz, *span)
    head = joined([e.event_id, e.type])
    times = (local_text(c, zone) for c in (e.time, e.first_seen, e.last_seen))
    tail = joined([e.camera, *times, e.vehicle_class, cast(e.read_count, String)])
    stmt = (
        select(head, x.plate_index, e.plate_ct, e.confidence, tail, x.event_pk)
        .join(e, e.id == x.event_pk)
        .where(*conds)
    )
    plates = await Plates.of(store)
    async for ids, key, ct, confidence, rest, _ in _pages(store, stmt, (x.time, x.event_pk)):
        plate = plates.text(key, ids[:36], ct)  # ids: the event's id (a 36-character UUID), its type
        yield f"{ids},{plate},{confidence:.3f},{rest}\r\n"


async def visit_lines(
    store: EventStore, billing: Billing, since: datetime, until: datetime, plate: PlateQuery | None
) -> AsyncIterator[str]:
    """Every visit of the range as a CSV line (VISIT_HEADER), newest first, billed."""
    async with store.sf() as s:
        keys = await store.plate_keys(s, plate) if plate is not None else None
    if keys is not None and not keys:
        return
    v, entry, exit_ = VisitRow, aliased(Event), aliased(Event)
    paid_in, paid_out = aliased(Payment), aliased(Payment)
    conds = store.visit_conditions(since, until, keys)
    now = store.clock()
    parked = and_(
        v.exit_pk.is_(None),
        v.open_until.is_(None),
        v.entry_time <= utc_naive(now),
        v.entry_time >= utc_naive(now - store.max_stay),
    )
    status = case(
        (v.exit_pk.is_not(None), case((v.entry_pk.is_not(None), "completed"), else_="no_entry")),
        (parked, "parked"),
        else_="no_exit",
    )
    span = await _range(store, v.start_time, conds, since, until)
    if span is None:
        return
    lo, hi = span
    zone = utc_offsets(store.tz, lo - store.max_stay, hi + store.max_stay)  # entries before, exits after
    head = joined([status, local_text(v.entry_time, zone), local_text(v.exit_time, zone)])
    where = joined(
        [func.coalesce(c, "") for c in (entry.camera, exit_.camera, entry.event_id, exit_.event_id)]
    )
    completed = and_(v.entry_pk.is_not(None), v.exit_pk.is_not(None), v.fee_amount.is_not(None))
    fee = case((completed, joined([cast(v.fee_amount, String), v.fee_currency, literal("yes")])), else_=",,")
    tail = joined([fee, func.coalesce(paid_in.status, paid_out.status, "unpaid")])
    stmt = (
        select(
            v.plate_index,
            func.coalesce(entry.plate_ct, exit_.plate_ct),
            head,
            v.duration_s,
            where,
            tail,
            case((parked, v.entry_time)),
            v.id,
        )
        .outerjoin(entry, entry.id == v.entry_pk)
        .outerjoin(exit_, exit_.id == v.exit_pk)
        .outerjoin(paid_in, paid_in.visit_key == entry.event_id)
        .outerjoin(paid_out, and_(paid_out.visit_key == exit_.event_id, v.entry_pk.is_(None)))
        .where(*conds)
    )
    plates = await Plates.of(store)
    async with store.sf() as s:  # the few cars inside, charged so far before the stream starts
        inside = (
            await s.execute(
                select(v.plate_index, v.entry_time, entry.event_id, entry.plate_ct)
                .join(entry, entry.id == v.entry_pk)
                .where(*conds, parked)
            )
        ).all()
    inside = [(k, entered, plates.text(k, eid, ct)) for k, entered, eid, ct in inside]
    charged_so_far = await billing.fees_so_far([(plate, entered) for _, entered, plate in inside], now)
    so_far = dict(zip([(k, entered) for k, entered, _ in inside], charged_so_far, strict=True))
    async for plate_key, ct, first, stay, where_, last, entered, _ in _pages(
        store, stmt, (v.start_time, v.id)
    ):
        st = first[: first.index(",")]
        _, _, entry_id, exit_id = where_.split(",")
        visit = entry_id or exit_id  # its key: the entry's event id, or the exit's without entry
        if st == "parked":
            stay = (now - as_utc(entered)).total_seconds()
            charged = so_far.get((plate_key, entered))
            if charged is not None:
                last = f"{charged.amount},{charged.currency},no,{last.rsplit(',', 1)[1]}"
        elif st != "completed":
            stay = None
        seconds = "" if stay is None else f"{stay:.0f}"
        plate = plates.text(plate_key, visit, ct)
        yield f"{plate},{first},{seconds},{hmm(stay)},{where_},{ticket_id(visit)},{last}\r\n"

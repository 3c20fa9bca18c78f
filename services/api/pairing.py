"""What ingest keeps ready so no query pairs or decrypts a range: sightings (events as corrected),
visit rows (paired when a sighting arrives, leaves or changes) and hourly roll-ups (numbers only).

A change re-pairs only the slice of the plate's sightings around it (visits.visit_rows says why that
suffices), so an exit arriving before its entry, a voided event or a corrected plate costs a few
indexed queries, not a re-pairing of the plate's history.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, tzinfo
from functools import reduce

from sqlalchemy import Connection, Integer, String, and_, cast, delete, func, insert, or_, select, union_all
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.functions import FunctionElement

from services.api.db import as_utc, utc_naive
from services.api.models import Event, HourlyStats, SightingRow, VisitRow
from services.api.stats import Hours
from services.api.stored_fees import Charger, listed_of, lists_stmt, versions_stmt
from services.api.visits import PairedRow, Sighting, plate_sequences, visit_rows

#: Per UTC hour: entries, exits, completed visits ended, their total stay, their fees (minor units).
Deltas = dict[datetime, list[float]]
STAT_COLUMNS = ("entries", "exits", "visits_ended", "stay_s", "charged")
COUNT_COLUMNS = STAT_COLUMNS[:4]  # the roll-ups as migration 0004 built them (revenue came in 0009)
IN_CHUNK = 2000  # keys per IN (...) list


def hour_of(t: datetime) -> datetime:
    return utc_naive(as_utc(t)).replace(minute=0, second=0, microsecond=0)


def status_at(row: VisitRow, now: datetime, max_stay: timedelta) -> str:
    """A stored visit's status seen at `now` (visits.pair_visits' rules)."""
    if row.exit_pk is not None:
        return "completed" if row.entry_pk is not None else "no_entry"
    assert row.entry_time is not None  # a row without exit has an entry
    entered = as_utc(row.entry_time)
    if row.open_until is None and entered <= now and now - entered <= max_stay:
        return "parked"
    return "no_exit"


def sighting_of(row: SightingRow) -> Sighting:
    return Sighting(row.event_pk, "", row.plate_index, row.type, as_utc(row.time), row.camera, row.split)


def _sighting_values(x: Sighting) -> dict:
    return {
        "event_pk": x.pk,
        "plate_index": x.plate_key,
        "type": x.type,
        "camera": x.camera,
        "time": utc_naive(x.time),
        "split": x.split,
    }


def _visit_values(r: PairedRow) -> dict:
    first = r.entry or r.exit
    assert first is not None
    return {
        "plate_index": r.plate_key,
        "entry_pk": r.entry.pk if r.entry else None,
        "exit_pk": r.exit.pk if r.exit else None,
        "start_time": utc_naive(first.time),
        "entry_time": utc_naive(r.entry.time) if r.entry else None,
        "exit_time": utc_naive(r.exit.time) if r.exit else None,
        "open_until": utc_naive(r.open_until) if r.open_until else None,
        "duration_s": r.duration_s if r.entry and r.exit else None,
    }


def count_visit(
    deltas: Deltas, exit_time: datetime | None, stay: float | None, sign: int, fee: int | None = None
) -> None:
    if exit_time is not None and stay is not None:
        d = deltas[hour_of(exit_time)]
        d[2] += sign
        d[3] += sign * stay
        d[4] += sign * (fee or 0)


def count_sighting(deltas: Deltas, kind: str, time: datetime, sign: int) -> None:
    deltas[hour_of(time)][0 if kind == "entry" else 1] += sign


def new_deltas() -> Deltas:
    return defaultdict(lambda: [0, 0, 0, 0.0, 0])


def whole_hours(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The first and the end of the whole UTC hours inside [since, until) (naive; first >= end: none)."""
    first, last = hour_of(since), hour_of(until)
    return (first + timedelta(hours=1) if first < utc_naive(since) else first), last


def _upsert(dialect: str, deltas: Deltas, columns: tuple[str, ...] = STAT_COLUMNS):  # noqa: ANN202
    """A dialect's INSERT adding `deltas` to the roll-ups."""
    n = len(columns)
    values = [dict(zip(("hour", *columns), (h, *d[:n]), strict=True)) for h, d in deltas.items() if any(d)]
    if not values:
        return None
    if dialect == "sqlite":
        lite = sqlite.insert(HourlyStats).values(values)
        added = {c: getattr(HourlyStats, c) + getattr(lite.excluded, c) for c in columns}
        return lite.on_conflict_do_update(index_elements=["hour"], set_=added)
    maria = mysql.insert(HourlyStats).values(values)
    return maria.on_duplicate_key_update({c: getattr(HourlyStats, c) + maria.inserted[c] for c in columns})


async def add(s: AsyncSession, sighting: Sighting, max_stay: timedelta, tz: tzinfo) -> None:
    """`sighting` joins its plate's sequence (in the caller's transaction)."""
    await add_many(s, [sighting], max_stay, tz)


async def add_many(s: AsyncSession, sightings: list[Sighting], max_stay: timedelta, tz: tzinfo) -> None:
    """A burst of new sightings joins their plates' sequences: a few statements for the whole burst,
    whatever its order (the caller's transaction)."""
    if not sightings:
        return
    await s.execute(insert(SightingRow), [_sighting_values(x) for x in sightings])
    deltas = new_deltas()
    for x in sightings:
        count_sighting(deltas, x.type, x.time, +1)
    new = plate_sequences(sightings)
    rows: list[PairedRow] = []
    touched = {x.pk for x in sightings}
    for seq in await _slices(s, new):
        fresh = {x.pk for x in new[seq[0].plate_key]}
        # Each new sighting, and the neighbours whose pairing it may change.
        targets = {
            j for i, e in enumerate(seq) if e.pk in fresh for j in (i - 1, i, i + 1) if 0 <= j < len(seq)
        }
        rows += visit_rows(seq, targets, max_stay)
    touched |= {e.pk for r in rows for e in (r.entry, r.exit) if e is not None}
    await _replace(s, touched, rows, deltas, tz)


async def remove(s: AsyncSession, event_pk: int, max_stay: timedelta, tz: tzinfo) -> Sighting | None:
    """The event leaves the sequences (voided, or about to change); its neighbours re-pair."""
    row = await s.get(SightingRow, event_pk)
    if row is None:
        return None
    gone = sighting_of(row)
    await s.delete(row)
    await s.flush()
    deltas = new_deltas()
    count_sighting(deltas, gone.type, gone.time, -1)
    await _repair(s, gone, deltas, max_stay, tz)
    return gone


async def _neighbours(s: AsyncSession, x: Sighting) -> tuple[list[Sighting], list[Sighting]]:
    """The plate's two sightings before `x` and two after, in (time, pk) order (one round trip)."""
    t, col = utc_naive(x.time), SightingRow
    mine = col.plate_index == x.plate_key
    earlier = or_(col.time < t, and_(col.time == t, col.event_pk < x.pk))
    later = or_(col.time > t, and_(col.time == t, col.event_pk > x.pk))
    before = select(col).where(mine, earlier).order_by(col.time.desc(), col.event_pk.desc()).limit(2)
    after = select(col).where(mine, later).order_by(col.time.asc(), col.event_pk.asc()).limit(2)
    both = union_all(before.subquery().select(), after.subquery().select()).subquery()
    rows = await s.execute(select(aliased(SightingRow, both)))
    seq = sorted((sighting_of(r) for r in rows.scalars()), key=lambda e: (e.time, e.pk))
    key = (x.time, x.pk)
    return [e for e in seq if (e.time, e.pk) < key], [e for e in seq if (e.time, e.pk) > key]


async def _repair(s: AsyncSession, x: Sighting, deltas: Deltas, max_stay: timedelta, tz: tzinfo) -> None:
    """Re-pair the visits around `x`, just removed from its plate's sequence."""
    before, after = await _neighbours(s, x)
    seq = [*before, *after]
    targets = []
    if before:
        targets.append(len(before) - 1)
    if after:
        targets.append(len(before))
    rows = visit_rows(seq, targets, max_stay)
    touched = {x.pk} | {e.pk for r in rows for e in (r.entry, r.exit) if e is not None}
    await _replace(s, touched, rows, deltas, tz)


async def _slices(s: AsyncSession, new: dict[str, list[Sighting]]) -> list[list[Sighting]]:
    """Per plate with new sightings, a contiguous stretch of its stored sequence holding two sightings
    before its first new one and two after its last: every sighting of those plates within the
    burst's time span, and two either side of the span (three statements of one shape per burst, so
    SQLAlchemy compiles them once)."""
    col = SightingRow
    lo = utc_naive(min(xs[0].time for xs in new.values()))
    hi = utc_naive(max(xs[-1].time for xs in new.values()))
    found: list[Sighting] = []
    keys = list(new)
    for i in range(0, len(keys), IN_CHUNK):
        mine = col.plate_index.in_(keys[i : i + IN_CHUNK])
        span = select(col).where(mine, col.time >= lo, col.time <= hi)
        found += [sighting_of(r) for r in await s.scalars(span)]
        for side, order in ((col.time < lo, col.time.desc()), (col.time > hi, col.time.asc())):
            rank = func.row_number().over(partition_by=col.plate_index, order_by=(order, col.event_pk))
            nearest = select(col, rank.label("rank")).where(mine, side).subquery()
            rows = await s.execute(select(aliased(SightingRow, nearest)).where(nearest.c.rank <= 2))
            found += [sighting_of(r) for r in rows.scalars()]
    return list(plate_sequences(found).values())


async def _replace(
    s: AsyncSession, touched: set[int], rows: list[PairedRow], deltas: Deltas, tz: tzinfo
) -> None:
    """The visit rows holding any of `touched` become `rows`, completed ones charged; the roll-ups follow."""
    v = VisitRow
    old = []
    pks = list(touched)
    for i in range(0, len(pks), IN_CHUNK):
        part = pks[i : i + IN_CHUNK]
        touching = or_(v.entry_pk.in_(part), v.exit_pk.in_(part))
        old += (await s.execute(select(v.id, v.exit_time, v.duration_s, v.fee_amount).where(touching))).all()
    ids = sorted({o[0] for o in old})
    for _, exit_time, stay, charged in {o[0]: o for o in old}.values():
        count_visit(deltas, exit_time, stay, -1, charged)
    for i in range(0, len(ids), IN_CHUNK):
        await s.execute(delete(v).where(v.id.in_(ids[i : i + IN_CHUNK])))
    if rows:
        versions = (await s.execute(versions_stmt())).all()
        listed = listed_of((await s.execute(lists_stmt(r.plate_key for r in rows))).all())
        charger = Charger(versions, listed, tz)
        values = [charger.charge(_visit_values(r)) for r in rows]
        await s.execute(insert(VisitRow), values)
        for x in values:
            count_visit(deltas, x["exit_time"], x["duration_s"], +1, x["fee_amount"])
    stmt = _upsert(s.get_bind().dialect.name, deltas)
    if stmt is not None:
        await s.execute(stmt)


class hours_after(FunctionElement):
    """Whole hours (floored) from the first argument to the second (naive UTC datetimes, the second not
    before the first), as an int."""

    type = Integer()
    inherit_cache = True


@compiles(hours_after, "mysql")
def _hours_after_maria(element: hours_after, compiler, **kw) -> str:  # noqa: ANN001
    return f"TIMESTAMPDIFF(HOUR, {compiler.process(element.clauses, **kw)})"


@compiles(hours_after, "sqlite")
def _hours_after_lite(element: hours_after, compiler, **kw) -> str:  # noqa: ANN001
    lo, hi = (compiler.process(c, **kw) for c in element.clauses)
    # Whole seconds as integers: julianday's float would put an exit at 03:00:00 in hour 2.
    return f"(CAST(strftime('%s', {hi}) AS INTEGER) - CAST(strftime('%s', {lo}) AS INTEGER)) / 3600"


async def rolled_up(s: AsyncSession, first: datetime, last: datetime) -> Hours:
    """The roll-ups of the hours in [first, last), as columns (STAT_COLUMNS). A year is 8,784 rows:
    read as one packed string (one row through the driver instead of 8,784, each parsed in Python), and
    row by row only if the database cut the string short (its group_concat_max_len)."""
    h = HourlyStats
    columns = [hours_after(first, h.hour), *(getattr(h, c) for c in STAT_COLUMNS)]
    row = reduce(lambda a, b: a.concat(" ").concat(b), (cast(c, String) for c in columns))
    in_range = (h.hour >= first, h.hour < last)
    count, packed = (await s.execute(select(func.count(), func.group_concat(row)).where(*in_range))).one()
    out = Hours(first, len(STAT_COLUMNS))
    if not count:
        return out
    n = 1 + len(STAT_COLUMNS)
    cells = packed.replace(",", " ").split(" ")
    if len(cells) == n * count:  # whole: parsed column by column (C loops, not a split per row)
        out.hours = list(map(int, cells[0::n]))
        kinds = (int, int, int, float, int)
        out.columns = [list(map(kind, cells[i + 1 :: n])) for i, kind in enumerate(kinds)]
        return out
    rows = await s.execute(select(h.hour, *(getattr(h, c) for c in STAT_COLUMNS)).where(*in_range))
    for hour, *counts in rows.all():
        out.add(hour, counts)
    return out


def rebuild(conn: Connection, max_stay: timedelta) -> int:
    """Sightings, visit rows and roll-ups from the events table (migration 0004, on a database that had
    none). Returns the number of events."""
    cols = (Event.id, Event.plate_index, Event.type, Event.camera, Event.time)
    sightings = [
        Sighting(pk, "", key, kind, as_utc(t), camera)
        for pk, key, kind, camera, t in conn.execute(select(*cols))
    ]
    batch = 5000
    for i in range(0, len(sightings), batch):
        conn.execute(
            insert(SightingRow),
            [_sighting_values(x) for x in sightings[i : i + batch]],
        )
    rows: list[PairedRow] = []
    for seq in plate_sequences(sightings).values():
        rows += visit_rows(seq, range(len(seq)), max_stay)
    for i in range(0, len(rows), batch):
        conn.execute(insert(VisitRow), [_visit_values(r) for r in rows[i : i + batch]])
    deltas = new_deltas()
    for x in sightings:
        count_sighting(deltas, x.type, x.time, +1)
    for r in rows:
        count_visit(deltas, r.exit.time if r.exit else None, r.duration_s if r.entry else None, +1)
    hours = list(deltas.items())
    for i in range(0, len(hours), batch):
        stmt = _upsert(conn.dialect.name, dict(hours[i : i + batch]), COUNT_COLUMNS)
        if stmt is not None:
            conn.execute(stmt)
    return len(sightings)

"""Events, visits, occupancy, statistics and CSV export. Every route needs a session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import StreamingResponse

from anpr.messages import EventType
from services.api import audit, exports
from services.api.auth import Principal
from services.api.deps import API_PREFIX, CurrentClient, PageDep, RuntimeDep, localize
from services.api.errors import ERROR, invalid_query
from services.api.runtime import Runtime
from services.api.schemas import EventPublic, Occupancy, Page, Stats, VisitPage
from services.api.store import EventFilter, NotFound, PlateQuery
from services.api.times import QueryTime

router = APIRouter(prefix=API_PREFIX, tags=["records"])

PlateParam = Annotated[str | None, Query(max_length=16, description="plate, any case/separators")]
TolerantParam = Annotated[bool, Query(description="also match plates one misread character away")]
Since = Annotated[QueryTime | None, Query(description="inclusive; ISO 8601; no offset = lot's local time")]
Until = Annotated[QueryTime | None, Query(description="exclusive; ISO 8601; no offset = lot's local time")]


def _plate(plate: str | None, tolerant: bool) -> PlateQuery | None:
    if plate is None:
        return None
    query = PlateQuery(plate, tolerant)
    if not query.normalized:
        raise invalid_query("plate", "plate has no letters or digits", plate)
    return query


def _event_filter(
    runtime: RuntimeDep,
    plate: PlateParam = None,
    tolerant: TolerantParam = False,
    type: Annotated[EventType | None, Query()] = None,  # noqa: A002 - the API's field name
    camera: Annotated[str | None, Query(max_length=64)] = None,
    since: Since = None,
    until: Until = None,
) -> EventFilter:
    return EventFilter(
        plate=_plate(plate, tolerant),
        type=type.value if type else None,
        camera=camera,
        since=localize(runtime, since),
        until=localize(runtime, until),
    )


def _range(runtime: RuntimeDep, since: datetime | None, until: datetime | None, default: timedelta):
    until = localize(runtime, until) or runtime.clock()
    since = localize(runtime, since) or until - default
    if since >= until:
        raise invalid_query("since", "since must be before until", since.isoformat())
    return since, until


FilterDep = Annotated[EventFilter, Depends(_event_filter)]


@router.get("/events", response_model=Page[EventPublic])
async def events(runtime: RuntimeDep, page: PageDep, f: FilterDep) -> Page[EventPublic]:
    """Events, newest first."""
    items, total = await runtime.store.search(f, page.limit, page.offset)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/events/{event_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: ERROR},
)
async def snapshot(event_id: uuid.UUID, runtime: RuntimeDep) -> Response:
    """The event's vehicle snapshot (JPEG); 404 when it has none."""
    try:
        jpeg = await runtime.store.snapshot(event_id)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no snapshot for this event") from None
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get("/visits", response_model=VisitPage)
async def visits(
    runtime: RuntimeDep,
    page: PageDep,
    plate: PlateParam = None,
    tolerant: TolerantParam = False,
    since: Since = None,
    until: Until = None,
) -> VisitPage:
    """Visits that began (or, lacking an entry, ended) in [since, until); default the last 24 h.
    Newest first; `completed` and `avg_stay_s` cover the whole range, not only this page."""
    lo, hi = _range(runtime, since, until, timedelta(days=1))
    found = await runtime.store.visit_page(lo, hi, _plate(plate, tolerant), page.limit, page.offset)
    return found.model_copy(update={"items": await runtime.billing.annotate(found.items)})


@router.get("/occupancy", response_model=Occupancy)
async def occupancy(
    runtime: RuntimeDep, at: Annotated[QueryTime | None, Query(description="default: now")] = None
) -> Occupancy:
    """Vehicles inside: entered within API_MAX_STAY_HOURS and not seen leaving; with the lot's capacity
    configured, the free spaces too."""
    occ = await runtime.store.occupancy(localize(runtime, at))
    spaces = runtime.settings.lot_spaces
    if spaces is None:
        return occ
    return occ.model_copy(update={"capacity": spaces, "free": max(spaces - occ.count, 0)})


@router.get("/stats", response_model=Stats)
async def stats(
    runtime: RuntimeDep,
    interval: Literal["hour", "day"] = "hour",
    since: Since = None,
    until: Until = None,
) -> Response:
    """Entries, exits and average stay per local hour or day; default the last 24 h (hour) or 7 days (day)."""
    lo, hi = _range(runtime, since, until, timedelta(days=1 if interval == "hour" else 7))
    if hi - lo > timedelta(days=366):
        raise invalid_query("until", "at most one year per request", hi.isoformat())
    stats = await runtime.store.stats(lo, hi, interval)
    # Serialized once here: FastAPI would dump and re-validate a year's 8,784 buckets first.
    return Response(stats.model_dump_json(), media_type="application/json")


async def _csv(name: str, header: Sequence[str], lines: AsyncIterator[str]) -> StreamingResponse:
    """Streamed in constant memory as the database streams rows. The first line is read before the
    answer starts, so a failure there (a row failing its integrity check) is still an HTTP error."""
    first = await anext(lines, "")

    async def body() -> AsyncIterator[str]:
        buf = [",".join(header) + "\r\n", first]
        size = 0
        async for line in lines:
            buf.append(line)
            size += len(line)
            if size >= 64 * 1024:
                yield "".join(buf)
                buf, size = [], 0
        yield "".join(buf)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


def _file_name(kind: str, runtime: RuntimeDep, lo: datetime | None, hi: datetime | None) -> str:
    """events_2025-03-01_to_2025-03-07.csv: the range's first and last lot-local day."""
    end = (hi or runtime.clock()) - timedelta(microseconds=1)  # `until` is exclusive
    first = lo.astimezone(runtime.tz).date().isoformat() if lo else "start"
    return f"{kind}_{first}_to_{end.astimezone(runtime.tz).date().isoformat()}.csv"


async def _audited(runtime: Runtime, who: Principal, name: str, filters: dict) -> None:
    """An export is recorded before it streams (the filters may name a plate: `after` is sealed)."""
    after = {k: v for k, v in filters.items() if v is not None}
    await audit.append(runtime.sf, actor=who.client_name, action="export", subject=name, after=after)


@router.get("/export/events.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def export_events(runtime: RuntimeDep, who: CurrentClient, f: FilterDep) -> Response:
    """Every matching event (same filters as /events), no paging."""
    await _audited(runtime, who, "events.csv", asdict(f))
    rows = exports.event_lines(runtime.store, f)
    return await _csv(_file_name("events", runtime, f.since, f.until), exports.EVENT_HEADER, rows)


@router.get("/export/visits.csv", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
async def export_visits(
    runtime: RuntimeDep,
    who: CurrentClient,
    plate: PlateParam = None,
    tolerant: TolerantParam = False,
    since: Since = None,
    until: Until = None,
) -> Response:
    """Every visit of the range (same filters as /visits), no paging."""
    lo, hi = _range(runtime, since, until, timedelta(days=1))
    query = _plate(plate, tolerant)
    await _audited(
        runtime, who, "visits.csv", {"plate": asdict(query) if query else None, "since": lo, "until": hi}
    )
    rows = exports.visit_lines(runtime.store, runtime.billing, lo, hi, query)
    return await _csv(_file_name("visits", runtime, lo, hi), exports.VISIT_HEADER, rows)

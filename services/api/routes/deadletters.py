"""Events that could not be stored (see services/api/deadletters.py). Every route needs a session."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Response, status

from anpr.messages import encode
from services.api.deps import API_PREFIX, PageDep, RuntimeDep
from services.api.errors import ERROR
from services.api.schemas import DeadLetterPublic, Page

router = APIRouter(prefix=API_PREFIX, tags=["dead letters"])


@router.get("/dead-letters", response_model=Page[DeadLetterPublic])
async def dead_letters(runtime: RuntimeDep, page: PageDep) -> Page[DeadLetterPublic]:
    """Events kept aside because they can never be stored, newest first."""
    items, total = await runtime.dead_letters.page(page.limit, page.offset)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/dead-letters/{event_id}",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}}, 404: ERROR},
)
async def dead_letter(event_id: uuid.UUID, runtime: RuntimeDep) -> Response:
    """The kept event, whole, as it came (the EventMessage JSON)."""
    event = await runtime.dead_letters.event(event_id)
    if event is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such dead letter")
    return Response(
        encode(event), media_type="application/json", headers={"Cache-Control": "private, no-store"}
    )

"""The owner's plate lists (deny, watch, allow, member, staff). Every route needs a session."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError

from anpr.plates import normalize
from services.api.deps import API_PREFIX, CurrentClient, PageDep, RuntimeDep, localize
from services.api.errors import ERROR, invalid_query
from services.api.lists import Duplicate, NoSuchEntry
from services.api.schemas import ListKind, Page, PlateListCreate, PlateListEntryPublic, PlateListUpdate

router = APIRouter(prefix=API_PREFIX, tags=["plate lists"])
BODY_MAX_BYTES = 8192
NOT_FOUND = "no such list entry"


@router.get("/lists", response_model=Page[PlateListEntryPublic])
async def entries(
    runtime: RuntimeDep,
    page: PageDep,
    kind: Annotated[ListKind | None, Query()] = None,
    plate: Annotated[str | None, Query(max_length=16, description="one misread allowed")] = None,
) -> Page[PlateListEntryPublic]:
    """Entries of every list (or of `kind`), newest first; expired ones too (`active`: false)."""
    if plate is not None and not normalize(plate):
        raise invalid_query("plate", "plate has no letters or digits", plate)
    items, total = await runtime.lists.page(kind, plate, page.limit, page.offset)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/lists",
    response_model=PlateListEntryPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: ERROR},
    max_body_size=BODY_MAX_BYTES,
)
async def add(body: PlateListCreate, runtime: RuntimeDep, client: CurrentClient) -> PlateListEntryPublic:
    """Put a plate on a list; 409 when it is on that list already."""
    if not normalize(body.plate) or len(normalize(body.plate)) > 12:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "plate"),
                    "msg": "a plate is 1-12 letters or digits",
                    "input": body.plate,
                }
            ]
        )
    try:
        return await runtime.lists.add(
            body.kind, body.plate, body.note, localize(runtime, body.expires_at), client.client_name
        )
    except Duplicate as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


@router.patch(
    "/lists/{entry_id}",
    response_model=PlateListEntryPublic,
    responses={404: ERROR},
    max_body_size=BODY_MAX_BYTES,
)
async def change(
    entry_id: uuid.UUID, body: PlateListUpdate, runtime: RuntimeDep, client: CurrentClient
) -> PlateListEntryPublic:
    """Change the note or the expiry (`expires_at: null`: never expires)."""
    changes = body.model_dump(exclude_unset=True)
    if "expires_at" in changes:
        changes["expires_at"] = localize(runtime, changes["expires_at"])
    try:
        return await runtime.lists.update(entry_id, changes, client.client_name)
    except NoSuchEntry:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None


@router.delete("/lists/{entry_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: ERROR})
async def remove(entry_id: uuid.UUID, runtime: RuntimeDep, client: CurrentClient) -> None:
    """Take the plate off that list."""
    try:
        await runtime.lists.remove(entry_id, client.client_name)
    except NoSuchEntry:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND) from None

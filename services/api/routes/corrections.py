"""Corrections of events and visits (services/api/corrections.py). Every route needs a session."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, HTTPException, status
from fastapi.exceptions import RequestValidationError

from anpr.plates import normalize
from services.api.corrections import Refused
from services.api.deps import API_PREFIX, CurrentClient, RuntimeDep
from services.api.errors import ERROR
from services.api.schemas import CorrectionPublic, MergeRequest, PlateCorrection, VisitPublic, VoidRequest
from services.api.store import NotFound

router = APIRouter(prefix=API_PREFIX, tags=["corrections"])
ANSWERS: dict[int | str, dict[str, Any]] = {404: ERROR, 409: ERROR}


def _not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no such {what}")


def _refused(exc: Refused) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, str(exc))


@router.get("/events/{event_id}/corrections", response_model=list[CorrectionPublic], responses={404: ERROR})
async def history(event_id: uuid.UUID, runtime: RuntimeDep) -> list[CorrectionPublic]:
    """Every correction of the event, oldest first (the event as read is never changed)."""
    try:
        return await runtime.corrections.history(event_id)
    except NotFound:
        raise _not_found("event") from None


@router.post("/events/{event_id}/plate", response_model=CorrectionPublic, responses={404: ERROR})
async def correct_plate(
    event_id: uuid.UUID, body: PlateCorrection, runtime: RuntimeDep, client: CurrentClient
) -> CorrectionPublic:
    """Correct a misread plate: the event pairs, searches and counts under the corrected plate."""
    if not normalize(body.plate):
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "plate"),
                    "msg": "plate has no letters or digits",
                    "input": body.plate,
                }
            ]
        )
    try:
        return await runtime.corrections.correct_plate(event_id, body.plate, client.client_name)
    except NotFound:
        raise _not_found("event") from None


@router.post("/events/{event_id}/void", response_model=CorrectionPublic, responses={404: ERROR})
async def void(
    event_id: uuid.UUID, body: VoidRequest, runtime: RuntimeDep, client: CurrentClient
) -> CorrectionPublic:
    """Void a false event (or, with `voided: false`, restore it): it leaves every view and statistic."""
    try:
        return await runtime.corrections.void(event_id, body.voided, client.client_name)
    except NotFound:
        raise _not_found("event") from None


@router.post("/visits/merge", response_model=VisitPublic, responses=ANSWERS)
async def merge(body: MergeRequest, runtime: RuntimeDep, client: CurrentClient) -> VisitPublic:
    """Merge a visit without exit and a later visit without entry (its exit misread) into one."""
    first, second = body.visit_keys
    try:
        return await runtime.corrections.merge(first, second, client.client_name)
    except NotFound:
        raise _not_found("visit") from None
    except Refused as exc:
        raise _refused(exc) from None


@router.post("/visits/{visit_key}/split", response_model=list[VisitPublic], responses=ANSWERS)
async def split(visit_key: uuid.UUID, runtime: RuntimeDep, client: CurrentClient) -> list[VisitPublic]:
    """Split a wrong pairing: the entry and the exit become two visits and never pair again."""
    try:
        return await runtime.corrections.split(visit_key, client.client_name)
    except NotFound:
        raise _not_found("visit") from None
    except Refused as exc:
        raise _refused(exc) from None

"""HTTP ingest for the edge device (device token), the same EventMessage JSON as on the bus."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from services.api.deps import API_PREFIX, RuntimeDep
from services.api.schemas import EventCreate, IngestResult

router = APIRouter(prefix=API_PREFIX, tags=["ingest"])
#: An event with its snapshot (at most 1 MiB, base64 in JSON) and room for the other fields.
INGEST_MAX_BYTES = 2 * 1024 * 1024


@router.post(
    "/ingest",
    response_model=IngestResult,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": IngestResult, "description": "already stored (a retry)"}},
    max_body_size=INGEST_MAX_BYTES,
)
async def ingest(event: EventCreate, response: Response, runtime: RuntimeDep) -> IngestResult:
    """201 when stored, 200 when this event_id was already stored (a retry is harmless)."""
    stored = await runtime.store.ingest(event)
    if not stored:
        response.status_code = status.HTTP_200_OK
    return IngestResult(event_id=event.event_id, stored=stored)

"""Liveness and readiness: public, for container health checks."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.api.deps import RuntimeDep
from services.api.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process answers."""
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    """The database answers (503 when it does not); the broker link and the dead letters (events that
    can never be stored) are reported, not required."""
    db_ok = await runtime.database_ok()
    dead = await runtime.dead_letters.count() if db_ok else None
    consumer = runtime.consumer
    mqtt: Literal["connected", "disconnected", "off"] = (
        "off" if consumer is None else ("connected" if consumer.connected else "disconnected")
    )
    body = Readiness(
        status="ready" if db_ok else "unavailable",
        database="ok" if db_ok else "unavailable",
        mqtt=mqtt,
        dead_letters=dead,
    )
    return JSONResponse(body.model_dump(), status_code=200 if db_ok else 503)

"""The FastAPI application: routes under /api/v1, a global guard, start-up in order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from services.api.crypto import TamperError
from services.api.db import UNAVAILABLE
from services.api.deps import guard
from services.api.middleware import RequestGate
from services.api.openapi import describe_errors
from services.api.routes import auth, health, ingest, live, records, web
from services.api.runtime import Runtime
from services.api.settings import ApiSettings

log = logging.getLogger("services.api")


def create_app(settings: ApiSettings, runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or Runtime(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="ANPR records service",
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(guard)],
        docs_url=None,  # Swagger UI would load its assets from a CDN; the description is enough
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs else None,
    )
    app.state.runtime = runtime
    app.add_middleware(RequestGate, runtime=runtime)
    describe_errors(app)
    for router in (health.router, auth.router, ingest.router, live.router, records.router, web.router):
        app.include_router(router)  # no prefix here: see deps.API_PREFIX

    @app.exception_handler(TamperError)
    async def _tampered(request: Request, exc: TamperError) -> JSONResponse:
        log.error("integrity check failed on %s: %s", request.url.path, exc)
        return JSONResponse({"detail": "stored data failed its integrity check"}, status_code=500)

    for exc_type in UNAVAILABLE:

        @app.exception_handler(exc_type)
        async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
            log.warning("database unavailable on %s: %s", request.url.path, exc.__class__.__name__)
            return JSONResponse(
                {"detail": "database unavailable"}, status_code=503, headers={"Retry-After": "5"}
            )

    return app

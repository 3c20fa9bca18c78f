"""Dependencies declared once, and the global guard every route passes through.

Secure by default: the guard runs on every API route (app-level dependency) and requires a session
unless the route is in PUBLIC_ROUTES or DEVICE_ROUTES. A route added without thought is protected;
tests/api/test_route_coverage.py walks app.routes and fails on any route that is neither.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status

from services.api.auth import Principal, Unauthorized
from services.api.runtime import Runtime

#: Every router carries its full prefix and is included without one, so the matched route's path is
#: the full path (FastAPI does not add an include_router prefix to the route the guard sees).
API_PREFIX = "/api/v1"

#: The web app (services/api/web, served by routes/web.py), one path per file: its HTML shell, scripts,
#: styles and icon hold no data; every data request the app makes goes through the guarded API. A file
#: not named here is not served.
WEB_ASSETS: frozenset[str] = frozenset(
    {
        "/app/",
        "/app/app.css",
        "/app/icon.svg",
        "/app/js/alerts.js",
        "/app/js/api.js",
        "/app/js/audit.js",
        "/app/js/cards.js",
        "/app/js/charts.js",
        "/app/js/corrections.js",
        "/app/js/dom.js",
        "/app/js/feed.js",
        "/app/js/fees.js",
        "/app/js/filtered.js",
        "/app/js/inside.js",
        "/app/js/live.js",
        "/app/js/main.js",
        "/app/js/search.js",
        "/app/js/ticket.js",
        "/app/js/vehicle.js",
        "/app/js/visits.js",
    }
)
#: (method, path) pairs anyone may call.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {("GET", "/healthz"), ("GET", "/readyz"), ("POST", "/api/v1/auth/login"), ("GET", "/")}
    | {("GET", path) for path in WEB_ASSETS}
)
#: Routes for the edge device, which proves itself with the device token (X-Device-Token).
DEVICE_ROUTES: frozenset[tuple[str, str]] = frozenset({("POST", "/api/v1/ingest")})
#: The API description, mounted only with API_DOCS=true (development).
DOCS_PATHS: frozenset[str] = frozenset({"/openapi.json"})
DEVICE_HEADER = "X-Device-Token"
#: Far beyond any lot's history, and within every database's OFFSET range.
MAX_OFFSET = 10**9

_BEARER = {"WWW-Authenticate": "Bearer"}


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def guard(request: Request) -> None:
    route = request.scope.get("route")
    key = (request.method, getattr(route, "path", request.url.path))
    if key in PUBLIC_ROUTES:
        return
    runtime: Runtime = request.app.state.runtime
    if key in DEVICE_ROUTES:
        refused = device_refusal(runtime, request.headers.get(DEVICE_HEADER, ""))
        if refused is not None:
            raise refused
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated", headers=_BEARER)
    try:
        request.state.principal = await runtime.auth.authenticate(token.strip())
    except Unauthorized as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers=_BEARER) from None


def device_refusal(runtime: Runtime, token: str) -> HTTPException | None:
    """Why a device request is refused (from its header alone), or None when the token is right."""
    expected = runtime.device_token_hash
    if expected is None:
        return HTTPException(status.HTTP_403_FORBIDDEN, "HTTP ingest is off (API_DEVICE_TOKEN is not set)")
    if not hmac.compare_digest(hashlib.sha256(token.encode()).digest(), expected):
        return HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid device token")
    return None


def current_client(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if principal is None:  # a route using this must not be public; the guard sets it
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated", headers=_BEARER)
    return principal


CurrentClient = Annotated[Principal, Depends(current_client)]


class PageParams:
    def __init__(
        self,
        request: Request,
        limit: Annotated[int, Query(ge=1, description="page size (capped by API_PAGE_MAX)")] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> None:
        self.limit = min(limit, request.app.state.runtime.settings.page_max)
        self.offset = offset


PageDep = Annotated[PageParams, Depends()]


def localize(runtime: Runtime, dt: datetime | None) -> datetime | None:
    """A time without offset is the lot's local time."""
    if dt is None or dt.tzinfo is not None:
        return dt
    return runtime.tz.localize(dt)

"""Every route is either allow-listed (public or device) or refuses a request without a session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.routing import BaseRoute

from services.api.app import create_app
from services.api.deps import DEVICE_ROUTES, DOCS_PATHS, PUBLIC_ROUTES
from services.api.settings import ApiSettings
from tests.api.conftest import Api, make_settings

pytestmark = pytest.mark.anyio


def walk(routes: list[BaseRoute]) -> Iterator[Any]:
    """Leaf routes, through FastAPI's included-router wrappers where the version has them."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from walk(inner.routes)
        else:
            yield route


def endpoints(app) -> list[tuple[str, str, Any]]:  # noqa: ANN001
    return [(m, r.path, r) for r in walk(app.routes) for m in sorted(getattr(r, "methods", None) or {"GET"})]


@pytest.fixture(params=[False, True], ids=["docs-off", "docs-on"])
def settings(request: pytest.FixtureRequest, key_material, tmp_path) -> ApiSettings:  # noqa: ANN001
    return make_settings(f"sqlite+aiosqlite:///{tmp_path / 'api.db'}", key_material, docs=request.param)


def _concrete(path: str) -> str:
    return path.replace("{event_id}", str(uuid.uuid4()))


async def test_every_route_is_allow_listed_or_needs_a_session(api: Api, settings: ApiSettings) -> None:
    app = create_app(settings, api.runtime)
    routes = endpoints(app)
    assert len(routes) >= 12
    keys = {(m, p) for m, p, _ in routes}
    assert keys >= PUBLIC_ROUTES and keys >= DEVICE_ROUTES, "an allow-list names a route that does not exist"
    unguarded = []
    for method, path, _route in routes:
        if (method, path) in PUBLIC_ROUTES | DEVICE_ROUTES:
            continue
        if path in DOCS_PATHS:
            assert settings.docs, f"{path} is served while API_DOCS is off"
            continue
        # Not allow-listed: without a session it must not answer (not even a 404 or a 422).
        for headers in ({}, {"Authorization": "Bearer not-a-session"}):
            resp = await api.http.request(method, _concrete(path), headers=headers)
            if resp.status_code != 401:
                unguarded.append((method, path, resp.status_code))
    assert unguarded == [], f"routes neither allow-listed nor guarded: {unguarded}"


async def test_allow_listed_routes_answer_without_a_session(api: Api) -> None:
    assert (await api.http.get("/healthz")).json() == {"status": "ok"}
    ready = await api.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
    login = await api.http.post("/api/v1/auth/login", json={"token": "anpr_x", "code": "000000"})
    assert login.status_code == 401 and login.json() == {"detail": "invalid credentials"}
    ingest = await api.http.post("/api/v1/ingest", json={})
    assert ingest.status_code == 401 and ingest.json() == {"detail": "invalid device token"}


def test_docs_are_not_served_unless_asked(key_material, tmp_path) -> None:  # noqa: ANN001
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", key_material))
    assert not {p for _, p, _ in endpoints(app)} & DOCS_PATHS

"""The OpenAPI description tells the truth (who may call what, every error and its body), /docs is
gone, redirects never point at the Host a client sent, and HTTPS answers carry HSTS."""

from __future__ import annotations

import httpx
import pytest

from services.api.app import create_app
from services.api.deps import DEVICE_ROUTES, PUBLIC_ROUTES
from services.api.settings import ApiSettings
from tests.api.conftest import Api, make_settings

pytestmark = pytest.mark.anyio
ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}


@pytest.fixture
def settings(tmp_path, key_material) -> ApiSettings:  # noqa: ANN001
    return make_settings(f"sqlite+aiosqlite:///{tmp_path / 'api.db'}", key_material, docs=True)


async def test_the_description_names_security_and_every_error(api: Api) -> None:
    assert (await api.http.get("/docs")).status_code == 404  # its assets came from a CDN
    doc = (await api.http.get("/openapi.json")).json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["session"] == schemes["session"] | {"type": "http", "scheme": "bearer"}
    assert schemes["device"] == schemes["device"] | {
        "type": "apiKey",
        "in": "header",
        "name": "X-Device-Token",
    }
    validation = doc["components"]["schemas"]["ValidationError"]
    assert {"loc", "msg", "type"} <= set(validation["required"])
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            key, responses = (method.upper(), path), op["responses"]
            if key in PUBLIC_ROUTES:
                assert op["security"] == [], key
            elif key in DEVICE_ROUTES:
                assert op["security"] == [{"device": []}], key
                assert responses["401"]["content"] == ERROR_BODY and "403" in responses, key
            else:
                assert op["security"] == [{"session": []}], key
                assert responses["401"]["content"] == ERROR_BODY, key
                assert "WWW-Authenticate" in responses["401"]["headers"], key
            if op.get("parameters") or "requestBody" in op:
                body = responses["422"]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/HTTPValidationError"}, key
            if "requestBody" in op:
                assert "413" in responses, key
            for status, answer in responses.items():
                assert answer.get("content") or status == "204", (key, status, answer)
    login = doc["paths"]["/api/v1/auth/login"]["post"]["responses"]
    assert login["429"]["content"] == ERROR_BODY and "Retry-After" in login["429"]["headers"]
    ingest = doc["paths"]["/api/v1/ingest"]["post"]
    snapshot = ingest["requestBody"]["content"]["application/json"]["schema"]
    assert snapshot == {"$ref": "#/components/schemas/EventMessage"}
    jpeg = doc["components"]["schemas"]["EventMessage"]["properties"]["snapshot_jpeg"]["anyOf"][0]
    assert jpeg["contentEncoding"] == "base64" and jpeg["pattern"].startswith("^(?:[A-Za-z0-9+/]{4})*")


async def test_a_trailing_slash_redirect_stays_on_this_server(api: Api) -> None:
    resp = await api.http.get("/api/v1/events/?limit=5", headers={"Host": "evil.example"})
    assert resp.status_code == 307
    assert resp.headers["location"] == "/api/v1/events?limit=5"


async def test_https_answers_carry_hsts_and_http_ones_do_not(api: Api) -> None:
    app = api.http._transport.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://pi.lan") as https:
        for path in ("/healthz", "/api/v1/events", "/app/"):
            assert (await https.get(path)).headers["strict-transport-security"] == "max-age=31536000"
    assert "strict-transport-security" not in (await api.http.get("/healthz")).headers


def test_docs_off_serves_no_description(key_material, tmp_path) -> None:  # noqa: ANN001
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", key_material))
    assert app.openapi_url is None and app.docs_url is None

"""The OpenAPI description says what the service really answers: who may call each operation (security
schemes: a session bearer token, or the device token), and every error status a route can give with
its body, as the guard, the body limits and the database handler answer them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.api.deps import DEVICE_HEADER, DEVICE_ROUTES, PUBLIC_ROUTES
from services.api.errors import RETRY_AFTER, ErrorBody

SCHEMES = {
    "session": {
        "type": "http",
        "scheme": "bearer",
        "description": "session_token from POST /api/v1/auth/login (API token + TOTP code)",
    },
    "device": {"type": "apiKey", "in": "header", "name": DEVICE_HEADER, "description": "API_DEVICE_TOKEN"},
}
BEARER_HEADER = {"description": "Bearer", "schema": {"type": "string"}}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
#: Routes that never touch the database.
_NO_DATABASE = frozenset({("GET", "/healthz")})


def _error(description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}, **extra}


def _document(key: tuple[str, str], op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op["responses"]
    if key in PUBLIC_ROUTES:
        op["security"] = []
    elif key in DEVICE_ROUTES:
        op["security"] = [{"device": []}]
        responses.setdefault("401", _error("wrong or missing device token"))
        responses.setdefault("403", _error("HTTP ingest is off (API_DEVICE_TOKEN is not set)"))
    else:
        op["security"] = [{"session": []}]
        responses.setdefault(
            "401",
            _error("no valid session", headers={"WWW-Authenticate": BEARER_HEADER}),
        )
    if "requestBody" in op:
        responses.setdefault(
            "413",
            {"description": "body too large", "content": {"text/plain": {"schema": {"type": "string"}}}},
        )
    if key not in _NO_DATABASE:
        unavailable = responses.setdefault("503", _error("database unavailable"))
        unavailable.setdefault("content", _error("")["content"])
        unavailable["headers"] = {"Retry-After": RETRY_AFTER}
    for answer in responses.values():  # an empty entry in a route's `responses=` means an ErrorBody
        if answer.get("description") == "Additional Response":
            answer.setdefault("content", _error("")["content"])


def _base64_strings(node: Any) -> None:
    """JSON bytes are base64 strings: say which strings the messages' parser takes."""
    if isinstance(node, dict):
        if node.get("type") == "string" and (
            node.get("contentEncoding") == "base64" or node.get("format") == "base64url"
        ):
            node.pop("format", None)
            node.update(contentEncoding="base64", pattern=BASE64)
        for value in node.values():
            _base64_strings(value)
    elif isinstance(node, list):
        for value in node:
            _base64_strings(value)


def describe_errors(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
            components = doc.setdefault("components", {})
            components.setdefault("schemas", {})["ErrorBody"] = ErrorBody.model_json_schema()
            components["securitySchemes"] = SCHEMES
            _base64_strings(components["schemas"])
            for path, operations in doc["paths"].items():
                for method, op in operations.items():
                    _document((method.upper(), path), op)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

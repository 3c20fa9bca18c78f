"""Error answers in one shape per status, so the OpenAPI description can say what a client gets.

A 422 is always FastAPI's validation body (`{"detail": [{"loc", "msg", "type", ...}]}`), also for the
checks a route makes itself; every other error is `{"detail": "one line"}`.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field


def invalid_query(name: str, msg: str, value: object) -> RequestValidationError:
    """A 422 for query parameter `name`, in the same body as a failed type check."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", name), "msg": msg, "input": value}]
    )


class ErrorBody(BaseModel):
    detail: str = Field(description="what went wrong, in one line")


#: For a route's `responses=`: an error answered as `{"detail": "..."}`.
ERROR: dict[str, Any] = {"model": ErrorBody}
RETRY_AFTER: dict[str, Any] = {"description": "seconds to wait", "schema": {"type": "string"}}

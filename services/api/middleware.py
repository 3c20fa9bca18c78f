"""One small ASGI layer in front of the app, for what must happen before a route runs or a body is read.

- Device routes: the device token is checked from the headers alone, so an unauthenticated upload is
  refused before a byte of its body is read (FastAPI reads a body before running dependencies).
- A response that starts before the request's body was read whole (a 401, a 413, any route that
  takes no body) closes the connection, so the rest of that body is never received. Routes that take
  a body bound it themselves (`max_body_size`: ingest, login).
- Redirects carry a relative `Location`: Starlette's trailing-slash redirect would build it from the
  Host header, which the client chooses.
- Over HTTPS every answer carries HSTS.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.api.deps import DEVICE_HEADER, DEVICE_ROUTES, device_refusal
from services.api.runtime import Runtime

HSTS = (b"strict-transport-security", b"max-age=31536000")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _relative(location: bytes) -> bytes:
    url = urlsplit(location.decode("latin-1"))
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    return path.encode("latin-1")


class RequestGate:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if (scope["method"], scope["path"]) in DEVICE_ROUTES:
            refused = device_refusal(self.runtime, headers.get(DEVICE_HEADER, ""))
            if refused is not None:
                answer = JSONResponse(
                    {"detail": refused.detail}, refused.status_code, headers={"Connection": "close"}
                )
                await answer(scope, receive, send)
                return
        body_left = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers

        async def receive_body() -> Message:
            nonlocal body_left
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_left = False
            return message

        async def send_answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"location"]
                out += [
                    (b"location", _relative(v))
                    for k, v in message.get("headers", [])
                    if k.lower() == b"location"
                ]
                if body_left:
                    out.append((b"connection", b"close"))
                if scope.get("scheme") == "https":
                    out.append(HSTS)
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive_body, send_answer)

"""How the service meets the network: uvicorn with bounded connections and time limits, TLS when a
certificate is configured, and logs that carry no plate and do not flood.

uvicorn times out only idle keep-alive connections; a client that sends half a request (or nothing)
would hold its socket for ever, and enough of them exhaust the file descriptors. `GuardedH11Protocol`
gives each request a deadline to arrive whole and closes connections beyond a cap at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from types import FrameType
from typing import Any

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from services.api.logfilters import RedactQuery, RepeatLimiter
from services.api.settings import ApiSettings

log = logging.getLogger("services.api.server")
#: Largest request head (request line and headers) h11 buffers; the default is 16 KiB.
MAX_HEAD_BYTES = 8 * 1024
_refused = RepeatLimiter(window_s=60.0)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, plus: a request must arrive whole (headers and body) within
    `request_timeout_s` of the connection opening or of the previous answer; connections beyond
    `max_connections`, or beyond `max_per_address` from one address (so one client cannot take every
    slot), are closed as soon as they are accepted."""

    request_timeout_s = 20.0
    max_connections = 256
    max_per_address = 64
    open_per_address: Counter[str] = Counter()  # each configured subclass has its own

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._address: str | None = None
        super().connection_made(transport)
        address = self.client[0] if self.client else "?"
        if len(self.connections) > self.max_connections:
            self._refuse(transport, "more than %d connections open: closing new ones", self.max_connections)
            return
        if self.open_per_address[address] >= self.max_per_address:
            self._refuse(
                transport,
                "more than %d connections from one address: closing its new ones",
                self.max_per_address,
            )
            return
        self._address = address
        self.open_per_address[address] += 1
        self._arm()

    def _refuse(self, transport: asyncio.Transport, why: str, limit: int) -> None:
        if _refused.allow(why):
            log.warning(why, limit)
        transport.abort()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout_s, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()  # the request is in: the route may take its time

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm()  # before: a pipelined request handled inside disarms it again
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._address is not None:
            self.open_per_address[self._address] -= 1
            if not self.open_per_address[self._address]:
                del self.open_per_address[self._address]
            self._address = None
        super().connection_lost(exc)


def protocol_for(settings: ApiSettings) -> type[GuardedH11Protocol]:
    return type(
        "ConfiguredH11Protocol",
        (GuardedH11Protocol,),
        {
            "request_timeout_s": settings.request_timeout_s,
            "max_connections": settings.max_connections,
            "max_per_address": settings.max_connections_per_address,
            "open_per_address": Counter(),
        },
    )


def install_log_filters() -> None:
    """No query string (`?plate=`) in the access log; a line repeated in a burst is logged a few times
    per minute with a count (e.g. asyncio's "Too many open files" on every accept)."""
    logging.getLogger("uvicorn.access").addFilter(RedactQuery())
    repeats = RepeatLimiter(window_s=60.0)
    for handler in logging.getLogger().handlers:
        handler.addFilter(repeats)


def uvicorn_config(app: FastAPI, settings: ApiSettings, **overrides: Any) -> uvicorn.Config:
    tls: dict[str, Any] = {}
    if settings.tls_certfile is not None:
        tls = {"ssl_certfile": str(settings.tls_certfile), "ssl_keyfile": str(settings.tls_keyfile)}
    values: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "proxy_headers": False,
        "http": protocol_for(settings),
        "timeout_keep_alive": settings.keep_alive_s,
        "h11_max_incomplete_event_size": MAX_HEAD_BYTES,
        "server_header": False,
        "timeout_graceful_shutdown": settings.shutdown_timeout_s,
        **tls,
    }
    values.update(overrides)
    return uvicorn.Config(app, **values)


class _Server(uvicorn.Server):
    """On SIGTERM/SIGINT `on_exit` runs first (it ends the live streams): uvicorn waits for open
    responses, and a stream never ends by itself."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        self._on_exit()


def serve(app: FastAPI, settings: ApiSettings, on_exit: Callable[[], None] = lambda: None) -> None:
    install_log_filters()
    _Server(uvicorn_config(app, settings), on_exit).run()

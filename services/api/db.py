"""Engine, waiting for the database, and migrations (Alembic, run from code at start-up)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

HERE = Path(__file__).resolve().parent
log = logging.getLogger("services.api.db")

#: Errors that mean "the database is not there right now", as opposed to "this request is wrong".
UNAVAILABLE = (OperationalError, InterfaceError, ConnectionError, OSError, TimeoutError)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, UNAVAILABLE)


#: MariaDB errors that one row causes however often it is tried: a packet over max_allowed_packet
#: (1153, 1301), values its columns cannot hold (1048, 1264, 1292, 1366, 1406).
PERMANENT_CODES = frozenset({1048, 1153, 1264, 1292, 1301, 1366, 1406})


def is_permanent(exc: BaseException) -> bool:
    """The data is at fault, not the database: trying the same row again cannot help."""
    if isinstance(exc, DBAPIError):
        args = getattr(exc.orig, "args", ())
        if args and args[0] in PERMANENT_CODES:
            return True
    return isinstance(exc, (DataError, OverflowError))


def utc_naive(dt: datetime) -> datetime:
    """Aware datetime -> naive UTC, the form stored in every time column."""
    return dt.astimezone(timezone.utc).replace(tzinfo=None)


def as_utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def make_engine(url: str, pool_size: int = 5) -> AsyncEngine:
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=3600)
    engine = create_async_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")  # cascades from events/clients
    cur.execute("PRAGMA journal_mode=WAL")  # readers do not block the ingest writer
    cur.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


async def wait_for_db(engine: AsyncEngine, timeout_s: float) -> None:
    """Retry `SELECT 1` with back-off: the database container may still be starting."""
    deadline = time.monotonic() + timeout_s
    delay = 0.5
    while True:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return
        except Exception as exc:
            if not is_unavailable(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("database not reachable (%s); retrying in %.1fs", exc.__class__.__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def alembic_config() -> Config:
    cfg = Config(str(HERE / "alembic.ini"))
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    return cfg


async def migrate(engine: AsyncEngine, revision: str = "head", *, downgrade: bool = False) -> None:
    """`alembic upgrade head` (or downgrade) on this engine's database."""

    def run(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        if downgrade:
            command.downgrade(cfg, revision)
        else:
            command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)

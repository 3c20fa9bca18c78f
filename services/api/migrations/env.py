"""Alembic environment. The service passes its own connection (db.migrate); run by hand, the
database URL comes from API_DATABASE_URL (or the service's default)."""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from services.api.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**kwargs: Any) -> None:
    # Batch mode lets later migrations alter tables on SQLite, which has no ALTER COLUMN.
    context.configure(target_metadata=target_metadata, render_as_batch=True, compare_type=True, **kwargs)


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    from services.api.settings import DEFAULT_DATABASE_URL

    return os.environ.get("API_DATABASE_URL", DEFAULT_DATABASE_URL)


async def _run_async() -> None:
    from services.api.db import make_engine

    engine = make_engine(_url())
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


given = config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    if context.is_offline_mode():
        _configure(url=_url(), literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_async())

"""Failed-attempt counting per key (a client, an address) over a sliding window, in the database.

In the database so a restart does not forget a lock, and so no table size limit lets a spray of
failures from other keys flush one key's count: rows older than the window are deleted as new
failures come in. Each call works in the caller's session (one connection per login, and the
caller commits).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.api.db import as_utc, utc_naive
from services.api.models import LoginFailure


class FailureLimiter:
    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_s)

    async def retry_after(self, s: AsyncSession, key: str, now: datetime) -> float | None:
        """Seconds until `key` may try again; None when it is not blocked."""
        recent = list(
            await s.scalars(
                select(LoginFailure.at)
                .where(LoginFailure.key == key, LoginFailure.at > utc_naive(now - self.window))
                .order_by(LoginFailure.at.desc())
                .limit(self.max_failures)
            )
        )
        if len(recent) < self.max_failures:
            return None
        return max(1.0, (as_utc(recent[-1]) + self.window - now).total_seconds())

    async def fail(self, s: AsyncSession, key: str, now: datetime) -> None:
        await s.execute(delete(LoginFailure).where(LoginFailure.at <= utc_naive(now - self.window)))
        s.add(LoginFailure(key=key, at=utc_naive(now)))

    async def clear(self, s: AsyncSession, key: str) -> None:
        await s.execute(delete(LoginFailure).where(LoginFailure.key == key))

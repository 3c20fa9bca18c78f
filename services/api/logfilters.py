"""Log filters: no query string in the access log (a plate search is `?plate=`), and no flood of one
repeated line (a burst of the same error is logged a few times per window, then counted)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: What stands for a removed query string in the access log.
REDACTED = "?…"


class RedactQuery(logging.Filter):
    """For uvicorn's access logger: its third argument is the path with the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + REDACTED, *args[3:])
        return True


class RepeatLimiter(logging.Filter):
    """At most `burst` lines with the same text per `window_s`; the first line of the next window says
    how many were dropped. Keeps at most `max_keys` texts (a flood of distinct lines resets the table,
    which only lets a few more lines through)."""

    def __init__(
        self,
        window_s: float = 60.0,
        burst: int = 5,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._seen: dict[str, list[float]] = {}  # text -> [window start, lines seen, lines dropped]

    def allow(self, key: str) -> bool:
        return self._count(key)[0]

    def _count(self, key: str) -> tuple[bool, int]:
        now = self._clock()
        entry = self._seen.get(key)
        if entry is None or now - entry[0] >= self.window_s:
            if entry is None and len(self._seen) >= self.max_keys:
                self._seen.clear()
            dropped = int(entry[2]) if entry is not None else 0
            self._seen[key] = [now, 1, 0]
            return True, dropped
        entry[1] += 1
        if entry[1] <= self.burst:
            return True, 0
        entry[2] += 1
        return False, 0

    def filter(self, record: logging.LogRecord) -> bool:
        allowed, dropped = self._count(f"{record.name}:{record.levelno}:{record.getMessage()}")
        if allowed and dropped:
            record.msg = f"{record.getMessage()} [and {dropped} more like it in {self.window_s:.0f}s]"
            record.args = None
        return allowed

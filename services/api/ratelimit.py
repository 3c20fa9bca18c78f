"""Failed-attempt counting per key (a client, an address) over a sliding window.

In memory: the service is one process, and a restart forgetting failures costs an attacker a
restart per window, not more guesses per second.
"""

from __future__ import annotations

from collections import deque

_MAX_KEYS = 10_000


class FailureLimiter:
    def __init__(self, max_failures: int, window_s: float) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds until `key` may try again; None when it is not blocked."""
        times = self._recent(key, now)
        if len(times) < self.max_failures:
            return None
        return max(1.0, times[-self.max_failures] + self.window_s - now)

    def fail(self, key: str, now: float) -> None:
        if len(self._failures) >= _MAX_KEYS:
            for k in list(self._failures):
                self._recent(k, now)
            # Still full under a spray of keys: forget the oldest half rather than grow without bound.
            for k in list(self._failures)[
                : len(self._failures) // 2 if len(self._failures) >= _MAX_KEYS else 0
            ]:
                del self._failures[k]
        self._failures.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

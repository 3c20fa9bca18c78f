"""Events waiting for the records service to confirm it stored them, in an SQLite file (WAL).

One row per event: adding, acknowledging and picking what to (re)send cost the same with ten or ten
thousand events waiting, and a committed row survives kill -9 and power loss (synchronous=FULL).
The file is made with the first event. Each thread gets its own connection; WAL lets the forwarder
read while the message thread writes.

`acked` remembers what was acknowledged (for a month), so an event that the state file still
carries after a crash is not queued again once it is done.

`sends` counts publishes since the last (re)connect; `next_at` (Unix time) is when a sent event
counts as unacknowledged and may go out again, backing off per send.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

from anpr.messages import EventMessage, decode, encode

log = logging.getLogger("aggregator.outbox")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL,
    sends INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS outbox_next_at ON outbox (next_at);
CREATE TABLE IF NOT EXISTS acked (event_id TEXT PRIMARY KEY, at REAL NOT NULL);
"""
ACKED_KEEP_S = 30 * 86400
MAX_BACKOFF_DOUBLINGS = 6  # a resend waits at most 64 × the ack timeout


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    def _db(self, create: bool = False) -> sqlite3.Connection | None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if not create and not self.path.exists():
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.executescript(_SCHEMA)
        with conn:
            conn.execute("DELETE FROM acked WHERE at < ?", (time.time() - ACKED_KEEP_S,))
        self._local.conn = conn
        return conn

    # -- the message thread ----------------------------------------------------------------------
    def add(self, events: Iterable[EventMessage]) -> None:
        """Keep `events` (oldest first) until acknowledged; an event already kept is not added twice."""
        rows = [(str(e.event_id), encode(e)) for e in events]
        if not rows:
            return
        db = self._db(create=True)
        assert db is not None
        with db:
            db.executemany(
                "INSERT OR IGNORE INTO outbox (event_id, payload) "
                "SELECT ?1, ?2 WHERE NOT EXISTS (SELECT 1 FROM acked WHERE event_id = ?1)",
                rows,
            )

    def remove(self, event_ids: Iterable[UUID]) -> int:
        """The records service has these: they leave. Returns how many were here."""
        db = self._db()
        if db is None:
            return 0
        now = time.time()
        ids = [str(i) for i in event_ids]
        with db:
            cur = db.executemany("DELETE FROM outbox WHERE event_id = ?", [(i,) for i in ids])
            db.executemany(
                "INSERT OR REPLACE INTO acked (event_id, at) VALUES (?, ?)", [(i, now) for i in ids]
            )
        return cur.rowcount

    def pending(self) -> list[EventMessage]:
        db = self._db()
        if db is None:
            return []
        return [decode(EventMessage, p) for (p,) in db.execute("SELECT payload FROM outbox ORDER BY seq")]

    def count(self) -> int:
        db = self._db()
        return 0 if db is None else int(db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    # -- the forwarder thread --------------------------------------------------------------------
    def due(self, limit: int, resends: bool, now: float | None = None) -> list[EventMessage]:
        """Oldest first: events never sent (since the last reconnect), and, with `resends`, sent
        ones whose acknowledgement is overdue."""
        db = self._db()
        if db is None:
            return []
        now = time.time() if now is None else now
        rows = db.execute(
            "SELECT payload FROM outbox WHERE sends = 0 OR (? AND next_at <= ?) ORDER BY seq LIMIT ?",
            (resends, now, limit),
        )
        return [decode(EventMessage, p) for (p,) in rows]

    def mark_sent(self, event_ids: Iterable[UUID], ack_timeout_s: float, now: float | None = None) -> None:
        db = self._db()
        if db is None:
            return
        now = time.time() if now is None else now
        with db:
            db.executemany(
                "UPDATE outbox SET next_at = ? + ? * (1 << MIN(sends, ?)), sends = sends + 1 "
                "WHERE event_id = ?",
                [(now, ack_timeout_s, MAX_BACKOFF_DOUBLINGS, str(i)) for i in event_ids],
            )

    def resend_all(self) -> None:
        """After a (re)connect: the broker may have lost what it held, so everything goes out again."""
        db = self._db()
        if db is not None:
            with db:
                db.execute("UPDATE outbox SET sends = 0, next_at = 0")

    def hold(self, until: float) -> None:
        """Give the records service until `until` to acknowledge what it was already sent (it has
        just come back and is working through its queue)."""
        db = self._db()
        if db is not None:
            with db:
                db.execute("UPDATE outbox SET next_at = MAX(next_at, ?) WHERE sends > 0", (until,))

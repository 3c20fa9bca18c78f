"""The audit log: an append-only, tamper-evident record of who changed, exported or purged what.

Each entry's `hash` is HMAC-SHA256, under the audit key (its own secret, not a data key), of the
previous entry's hash and this entry's fields: editing an entry breaks its hash, deleting one leaves
a gap in the numbering, deleting the newest ones no longer meets the chain head, and none can be
re-forged without the key. `before` / `after` are sealed like plates (they may hold one); `subject`
is stored plain, so callers never put a plate there.

The hash covers the SHA-256 digest of each sealed field (chain 2), not the field itself, so retention
can `redact` an old entry, dropping its sealed fields and keeping their digests, and the chain still
verifies. Entries from before migration 0011 (chain 1) hash the ciphertext and are never redacted.

Appends are serialised by the head row (audit_head, id 1): `record` updates it first, which takes its
row lock (MariaDB) or the write lock (SQLite) until the caller's transaction ends, so two writers can
never both extend the same entry. The entry is added in the caller's transaction: the change and its
record are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.api.crypto import Cipher
from services.api.db import as_utc, utc_naive
from services.api.models import AuditEntry, AuditHead
from services.api.schemas import AuditEntryPublic

GENESIS = "0" * 64
CLI_ACTOR = "cli"  # the admin commands (`python -m services.api ...`)
SERVICE_ACTOR = "retention"  # the service's own periodic purge
HEAD_ID = 1
TABLE = "audit_log"
_INFO_KEY = "audit"
_BATCH = 1000
CHAIN = 2  # what `record` writes: the hash covers the sealed fields' digests
# Entries retention never redacts: they hold no plate or address by construction, and they are the
# trail of the purges and key rotations themselves.
KEPT_WHOLE = frozenset({"purge", "key_rotate"})


class AuditNotConfigured(RuntimeError):
    """A session made without `attach`: its changes could not be audited, so none are made."""


@dataclass(frozen=True)
class AuditContext:
    cipher: Cipher
    chain_key: bytes
    clock: Callable[[], datetime]


def chain_key(secret: bytes) -> bytes:
    """The HMAC key, expanded from the configured secret under a label of its own."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"anpr-api audit chain v1").derive(
        secret
    )


def attach(sf: async_sessionmaker, cipher: Cipher, secret: bytes, clock: Callable[[], datetime]) -> None:
    """Every session `sf` makes from now on can `record` (its cipher, chain key and clock ride in its info)."""
    sf.configure(info={_INFO_KEY: AuditContext(cipher, chain_key(secret), clock)})


def digest(blob: bytes | None) -> str | None:
    return None if blob is None else hashlib.sha256(blob).hexdigest()


def _sealed_field(row: AuditEntry, blob: bytes | None, kept: str | None) -> str | None:
    if row.chain == 1:
        return blob.hex() if blob is not None else None
    return digest(blob) if blob is not None else kept  # redacted: the digest kept in its place


def entry_hash(key: bytes, prev: str, row: AuditEntry) -> str:
    fields = [
        row.seq,
        row.at.isoformat(timespec="microseconds"),
        row.actor,
        row.action,
        row.subject,
        _sealed_field(row, row.before_ct, row.before_digest),
        _sealed_field(row, row.after_ct, row.after_digest),
    ]
    if row.chain != 1:
        fields.append(row.chain)
    message = prev.encode() + b"\n" + json.dumps(fields, separators=(",", ":")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _seal(cipher: Cipher, seq: int, column: str, value: dict | None) -> bytes | None:
    if value is None:
        return None
    return cipher.seal(TABLE, column, str(seq), json.dumps(value, sort_keys=True, default=str).encode())


def unseal(cipher: Cipher, seq: int, column: str, blob: bytes | None) -> dict | None:
    return None if blob is None else json.loads(cipher.open(TABLE, column, str(seq), blob))


async def record(
    session: AsyncSession,
    *,
    actor: str | None,
    action: str,
    subject: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    """Append one entry in the caller's transaction (committed with the change it records)."""
    ctx = session.info.get(_INFO_KEY)
    if not isinstance(ctx, AuditContext):
        raise AuditNotConfigured("this session cannot write the audit log (audit.attach was not called)")
    # The UPDATE comes first: it takes the head's lock before the head is read.
    await session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq + 1))
    seq, prev = (
        await session.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID))
    ).one()
    row = AuditEntry(
        seq=seq,
        at=utc_naive(ctx.clock()),
        actor=actor,
        action=action,
        subject=subject,
        before_ct=_seal(ctx.cipher, seq, "before", before),
        after_ct=_seal(ctx.cipher, seq, "after", after),
        chain=CHAIN,
        prev_hash=prev,
    )
    row.hash = entry_hash(ctx.chain_key, prev, row)
    session.add(row)
    await session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(hash=row.hash))
    await session.flush()


def _redactable(before: datetime) -> Any:
    return (
        (AuditEntry.at < utc_naive(before))
        & (AuditEntry.chain >= CHAIN)
        & AuditEntry.action.not_in(KEPT_WHOLE)
        & (AuditEntry.before_ct.is_not(None) | AuditEntry.after_ct.is_not(None))
    )


async def redact(session: AsyncSession, before: datetime, dry_run: bool = False) -> int:
    """Drop the sealed `before` / `after` of the entries older than `before` (retention: they may hold
    a plate), keeping their digests so the chain still verifies; how many entries."""
    if dry_run:
        return (
            await session.scalar(select(func.count()).select_from(AuditEntry).where(_redactable(before))) or 0
        )
    done = 0
    while rows := list(await session.scalars(select(AuditEntry).where(_redactable(before)).limit(_BATCH))):
        for row in rows:
            row.before_digest = row.before_digest or digest(row.before_ct)
            row.after_digest = row.after_digest or digest(row.after_ct)
            row.before_ct = row.after_ct = None
        await session.flush()
        done += len(rows)
    return done


async def append(sf: async_sessionmaker, **entry: Any) -> None:
    """`record` in a transaction of its own, for what is not itself a database change (an export)."""
    async with sf() as s, s.begin():
        await record(s, **entry)


@dataclass(frozen=True)
class Verdict:
    count: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None

    def line(self) -> str:
        return f"ok {self.count} entries" if self.ok else f"broken at entry {self.broken_seq}: {self.reason}"


async def verify(sf: async_sessionmaker, secret: bytes) -> Verdict:
    """Walk the chain from the first entry; the first broken link, or how many entries hold."""
    key = chain_key(secret)
    prev, expected = GENESIS, 1
    async with sf() as s:
        head = (await s.execute(select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID))).first()
        if head is None:
            return Verdict(0, 1, "the chain head (audit_head row 1) is missing")
        head_seq, head_hash = head
        while True:
            rows = list(
                await s.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.seq >= expected)
                    .order_by(AuditEntry.seq)
                    .limit(_BATCH)
                )
            )
            for row in rows:
                if row.seq != expected:
                    return Verdict(expected - 1, expected, "missing (deleted from the log)")
                if row.prev_hash != prev:
                    return Verdict(expected - 1, row.seq, "does not link to the entry before it")
                if not hmac.compare_digest(row.hash, entry_hash(key, prev, row)):
                    return Verdict(expected - 1, row.seq, "its content does not match its hash (edited)")
                prev, expected = row.hash, expected + 1
            if len(rows) < _BATCH:
                break
    count = expected - 1
    if head_seq != count or head_hash != prev:
        return Verdict(count, count + 1, f"missing: the chain head says the log ends at entry {head_seq}")
    return Verdict(count)


async def page(
    sf: async_sessionmaker, cipher: Cipher, tz: tzinfo, limit: int, offset: int
) -> tuple[list[AuditEntryPublic], int]:
    """Entries newest first, `before` / `after` opened, times in the lot's zone."""
    async with sf() as s:
        total = await s.scalar(select(func.count()).select_from(AuditEntry)) or 0
        rows = list(
            await s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit).offset(offset))
        )
    items = [
        AuditEntryPublic(
            seq=r.seq,
            at=as_utc(r.at).astimezone(tz),
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            before=unseal(cipher, r.seq, "before", r.before_ct),
            after=unseal(cipher, r.seq, "after", r.after_ct),
            redacted=(r.before_digest or r.after_digest) is not None,
        )
        for r in rows
    ]
    return items, total

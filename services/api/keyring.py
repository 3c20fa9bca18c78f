"""Data keys in the database, wrapped by the RSA key pair in the key file; rotation re-wraps them.

The database records each RSA pair by version and public-key fingerprint. At start-up the key file's
pair must be the current (highest) version: an old or foreign key file is refused rather than
silently creating a second set of keys. Rows are never re-encrypted: rotating the pair only
re-wraps the data keys, in one transaction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anpr.messages import utcnow
from services.api import audit
from services.api.crypto import (
    DATA_KEY_BYTES,
    BlindIndex,
    Cipher,
    FieldCipher,
    PlaintextCipher,
    unwrap_key,
    wrap_key,
)
from services.api.db import utc_naive
from services.api.keyfile import KeyFileError, KeyPair
from services.api.models import DataKey, RsaKey


@dataclass(frozen=True)
class Keys:
    cipher: Cipher
    index: BlindIndex
    rsa_version: int | None  # None in the benchmark's plaintext mode


async def _current_version(s: AsyncSession, pair: KeyPair) -> int:
    """The version of `pair`, registering it as version 1 on a new database."""
    latest = await s.scalar(select(func.max(RsaKey.version)))
    row = await s.scalar(select(RsaKey).where(RsaKey.fingerprint == pair.fingerprint))
    if latest is None:
        s.add(RsaKey(version=1, fingerprint=pair.fingerprint, created_at=utc_naive(utcnow())))
        await s.flush()
        return 1
    if row is None:
        raise KeyFileError(
            f"the key file's pair ({pair.fingerprint[:16]}) is not known to this database (current version "
            f"{latest}); wrong file, or an interrupted rotation left the new key in '<file>.new'"
        )
    if row.version != latest:
        raise KeyFileError(f"the key file holds retired version {row.version}; the current one is {latest}")
    return row.version


async def open_keys(sf: async_sessionmaker, pair: KeyPair, index_key: bytes) -> Keys:
    """Unwrap every data key (creating the first one on a new database) into a cipher."""
    async with sf() as s, s.begin():
        version = await _current_version(s, pair)
        rows = list(await s.scalars(select(DataKey).order_by(DataKey.id)))
        if not rows:
            rows = [await _new_data_key(s, pair, version)]
        stale = [r.id for r in rows if r.key_version != version]
        if stale:
            raise KeyFileError(f"data keys {stale} are wrapped by another RSA version; rotation incomplete")
        keys = {r.id: unwrap_key(pair.private, r.wrapped) for r in rows}
    return Keys(
        cipher=FieldCipher(keys, active_id=max(keys)), index=BlindIndex(index_key), rsa_version=version
    )


def plaintext_keys(index_key: bytes) -> Keys:
    """BENCHMARK ONLY (API_BENCHMARK_PLAINTEXT): no encryption at all."""
    return Keys(cipher=PlaintextCipher(), index=BlindIndex(index_key), rsa_version=None)


async def _new_data_key(s: AsyncSession, pair: KeyPair, version: int) -> DataKey:
    row = DataKey(key_version=version, wrapped=wrap_key(pair.public, os.urandom(DATA_KEY_BYTES)))
    row.created_at = utc_naive(utcnow())
    s.add(row)
    await s.flush()
    return row


async def rotate(sf: async_sessionmaker, old: KeyPair, new: KeyPair) -> tuple[int, int]:
    """Re-wrap every data key from `old` to `new` in one transaction: (new version, keys re-wrapped)."""
    async with sf() as s, s.begin():
        version = await _current_version(s, old)
        new_version = version + 1
        s.add(RsaKey(version=new_version, fingerprint=new.fingerprint, created_at=utc_naive(utcnow())))
        await s.flush()
        rows = list(await s.scalars(select(DataKey)))
        for row in rows:
            row.wrapped = wrap_key(new.public, unwrap_key(old.private, row.wrapped))
            row.key_version = new_version
        await audit.record(
            s,
            actor=audit.CLI_ACTOR,
            action="key_rotate",
            after={"rsa_version": new_version, "data_keys": len(rows)},
        )
    return new_version, len(rows)

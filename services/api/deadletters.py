"""Events that can never be stored as events, kept aside so ingest goes on and nothing is lost.

An event lands here when storing it fails for a reason of its own (larger than the database takes,
a value its columns cannot hold), or keeps failing while the database answers. It is kept whole, as
the JSON it came as, sealed like every field holding a plate or a snapshot (AES-256-GCM, bound to
table, column, event and chunk number) and cut into chunks small enough for any database setting.
The owner sees them at `GET /api/v1/dead-letters`; `/readyz` counts them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, tzinfo

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from anpr.messages import EventMessage, EventType, decode, encode
from services.api.db import as_utc, utc_naive
from services.api.keyring import Keys
from services.api.models import DeadLetter, DeadLetterChunk
from services.api.schemas import DeadLetterPublic

TABLE = "dead_letters"
CHUNK_BYTES = 16 * 1024  # far below the smallest max_allowed_packet anyone runs


class DeadLetters:
    def __init__(self, sf: async_sessionmaker, keys: Keys, tz: tzinfo, clock: Callable[[], datetime]) -> None:
        self._sf = sf
        self._keys = keys
        self._tz = tz
        self._clock = clock

    async def keep(self, event: EventMessage, reason: str) -> bool:
        """Keep `event`; False when it was kept before (a redelivery)."""
        eid = str(event.event_id)
        seal = self._keys.cipher.seal
        payload = encode(event)
        async with self._sf() as s:
            if await s.scalar(select(DeadLetter.id).where(DeadLetter.event_id == eid)) is not None:
                return False
            row = DeadLetter(
                event_id=eid,
                type=event.type.value,
                camera=event.camera,
                plate_ct=seal(TABLE, "plate", eid, event.plate.encode()),
                reason=reason[:255],
                size=len(payload),
                received_at=utc_naive(self._clock()),
            )
            s.add(row)
            await s.flush()
            for n, start in enumerate(range(0, len(payload), CHUNK_BYTES)):
                data = seal(TABLE, "payload", f"{eid}/{n}", payload[start : start + CHUNK_BYTES])
                # One statement per chunk: a batched INSERT could itself exceed max_allowed_packet.
                await s.execute(insert(DeadLetterChunk).values(dead_letter_pk=row.id, n=n, data_ct=data))
            await s.commit()
        return True

    async def count(self) -> int:
        async with self._sf() as s:
            return int(await s.scalar(select(func.count()).select_from(DeadLetter)) or 0)

    async def page(self, limit: int, offset: int) -> tuple[list[DeadLetterPublic], int]:
        async with self._sf() as s:
            total = int(await s.scalar(select(func.count()).select_from(DeadLetter)) or 0)
            stmt = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit).offset(offset)
            rows = list(await s.scalars(stmt))
        return [self._public(r) for r in rows], total

    async def event(self, event_id: uuid.UUID) -> EventMessage | None:
        """The kept event, whole; None when there is no such dead letter."""
        eid = str(event_id)
        async with self._sf() as s:
            pk = await s.scalar(select(DeadLetter.id).where(DeadLetter.event_id == eid))
            if pk is None:
                return None
            chunks = await s.execute(
                select(DeadLetterChunk.n, DeadLetterChunk.data_ct)
                .where(DeadLetterChunk.dead_letter_pk == pk)
                .order_by(DeadLetterChunk.n)
            )
            opened = [self._keys.cipher.open(TABLE, "payload", f"{eid}/{n}", ct) for n, ct in chunks]
        return decode(EventMessage, b"".join(opened))

    def _public(self, row: DeadLetter) -> DeadLetterPublic:
        plate = self._keys.cipher.open(TABLE, "plate", row.event_id, row.plate_ct).decode()
        return DeadLetterPublic(
            event_id=uuid.UUID(row.event_id),
            type=EventType(row.type),
            plate=plate,
            camera=row.camera,
            reason=row.reason,
            size=row.size,
            received_at=as_utc(row.received_at).astimezone(self._tz),
        )

"""The owner's plate lists: deny, watch, allow, member, staff.

Stored like events: the plate sealed (AES-GCM, bound to the entry's row), found by its blind index,
and by the near-index digests a read one character off shares (see crypto.BlindIndex), so a listed
plate matches the reads a search with `tolerant=true` would. Candidates are decrypted and confirmed
with `same_plate`. Notes are sealed too (owners write names in them).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, get_args

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anpr.plates import normalize, same_plate
from services.api import audit
from services.api.db import utc_naive
from services.api.keyring import Keys
from services.api.models import PlateListEntry, PlateListNearIndex
from services.api.schemas import ListKind, PlateListEntryPublic
from services.api.times import to_local

TABLE = "plate_list_entries"
KINDS: tuple[str, ...] = get_args(ListKind)
#: A plate on one of these may enter a members-only lot.
TRUSTED = frozenset({"allow", "member", "staff"})
#: Seeing a plate on one of these raises an alert.
ALERTING = frozenset({"deny", "watch"})


class Duplicate(ValueError):
    pass


class NoSuchEntry(LookupError):
    pass


@dataclass(frozen=True)
class Match:
    kind: str
    plate: str  # as listed


class PlateLists:
    def __init__(self, sf: async_sessionmaker, keys: Keys, tz: tzinfo, clock: Callable[[], datetime]) -> None:
        self._sf = sf
        self._keys = keys
        self._tz = tz
        self._clock = clock

    def _seal(self, column: str, uid: str, text: str) -> bytes:
        return self._keys.cipher.seal(TABLE, column, uid, text.encode())

    def _open(self, column: str, row: PlateListEntry) -> str:
        return self._keys.cipher.open(TABLE, column, row.uid, getattr(row, f"{column}_ct")).decode()

    def _active(self):  # noqa: ANN202 - a SQL expression
        now = utc_naive(self._clock())
        return or_(PlateListEntry.expires_at.is_(None), PlateListEntry.expires_at > now)

    def public(self, row: PlateListEntry) -> PlateListEntryPublic:
        now = utc_naive(self._clock())
        return PlateListEntryPublic(
            id=uuid.UUID(row.uid),
            kind=row.kind,  # type: ignore[arg-type]
            plate=self._open("plate", row),
            note=self._open("note", row),
            expires_at=to_local(row.expires_at, self._tz) if row.expires_at else None,
            active=row.expires_at is None or row.expires_at > now,
            created_by=row.created_by,
            created_at=to_local(row.created_at, self._tz),
        )

    async def add(
        self, kind: str, plate: str, note: str, expires_at: datetime | None, created_by: str
    ) -> PlateListEntryPublic:
        """Raise Duplicate when the plate is already on that list (and not expired)."""
        plate = normalize(plate)
        uid = str(uuid.uuid4())
        index = self._keys.index
        async with self._sf() as s, s.begin():
            same = select(PlateListEntry.id).where(
                PlateListEntry.kind == kind, PlateListEntry.plate_index == index.exact(plate), self._active()
            )
            if await s.scalar(same) is not None:
                raise Duplicate(f"{plate} is already on the {kind} list")
            row = PlateListEntry(
                uid=uid,
                kind=kind,
                plate_index=index.exact(plate),
                plate_ct=self._seal("plate", uid, plate),
                note_ct=self._seal("note", uid, note),
                expires_at=utc_naive(expires_at) if expires_at else None,
                created_by=created_by,
                created_at=utc_naive(self._clock()),
            )
            s.add(row)
            await s.flush()
            s.add_all(PlateListNearIndex(entry_pk=row.id, digest=d) for d in index.near(plate))
            after = self.public(row).model_dump(mode="json")
            await audit.record(s, actor=created_by, action="list.add", subject=uid, after=after)
        return self.public(row)

    async def update(self, entry_id: uuid.UUID, changes: dict[str, Any], actor: str) -> PlateListEntryPublic:
        """`changes` holds only what the client sent: `note`, `expires_at` (None: never)."""
        async with self._sf() as s, s.begin():
            row = await s.scalar(select(PlateListEntry).where(PlateListEntry.uid == str(entry_id)))
            if row is None:
                raise NoSuchEntry(str(entry_id))
            before = self.public(row).model_dump(mode="json")
            if changes.get("note") is not None:
                row.note_ct = self._seal("note", row.uid, changes["note"])
            if "expires_at" in changes:
                row.expires_at = utc_naive(changes["expires_at"]) if changes["expires_at"] else None
            after = self.public(row).model_dump(mode="json")
            await audit.record(
                s, actor=actor, action="list.change", subject=row.uid, before=before, after=after
            )
        return self.public(row)

    async def remove(self, entry_id: uuid.UUID, actor: str) -> PlateListEntryPublic:
        async with self._sf() as s, s.begin():
            row = await s.scalar(select(PlateListEntry).where(PlateListEntry.uid == str(entry_id)))
            if row is None:
                raise NoSuchEntry(str(entry_id))
            gone = self.public(row)
            await s.execute(delete(PlateListEntry).where(PlateListEntry.id == row.id))
            before = gone.model_dump(mode="json")
            await audit.record(s, actor=actor, action="list.remove", subject=row.uid, before=before)
        return gone

    async def page(
        self, kind: str | None, plate: str | None, limit: int, offset: int
    ) -> tuple[list[PlateListEntryPublic], int]:
        """Newest first; `plate` matches one misread away, like a tolerant search."""
        async with self._sf() as s:
            stmt = select(PlateListEntry).order_by(PlateListEntry.id.desc())
            if kind is not None:
                stmt = stmt.where(PlateListEntry.kind == kind)
            if plate is None:
                total = await s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
                rows = list(await s.scalars(stmt.limit(limit).offset(offset)))
                return [self.public(r) for r in rows], int(total or 0)
            wanted = normalize(plate)
            rows = [
                r
                for r in await s.scalars(stmt.where(self._near(wanted)))
                if same_plate(wanted, self._open("plate", r))
            ]
        return [self.public(r) for r in rows[offset : offset + limit]], len(rows)

    def _near(self, plate: str):  # noqa: ANN202 - a SQL expression
        near = select(PlateListNearIndex.entry_pk).where(
            PlateListNearIndex.digest.in_(self._keys.index.near(plate))
        )
        return or_(PlateListEntry.id.in_(near), PlateListEntry.plate_index == self._keys.index.exact(plate))

    async def matches(self, session: AsyncSession, plate: str) -> list[Match]:
        """Active entries of `plate` on any list, allowing one misread (in the caller's session)."""
        plate = normalize(plate)
        rows = await session.scalars(select(PlateListEntry).where(self._near(plate), self._active()))
        found = [Match(r.kind, self._open("plate", r)) for r in rows]
        return [m for m in found if same_plate(plate, m.plate)]

    async def memberships(self, session: AsyncSession, plate: str) -> set[str]:
        """The lists `plate` is on now (not expired), one misread allowed: what the fee engine takes."""
        return {m.kind for m in await self.matches(session, plate)}

    async def memberships_of(self, plates: list[str]) -> dict[str, frozenset[str]]:
        """Each plate's lists now, one misread allowed (as `memberships`), for many plates in one query:
        the fee engine's lookup (staff free, member rate) for a page of cars inside."""
        if not plates:
            return {}
        wanted = {p: normalize(p) for p in plates}
        index = self._keys.index
        digests = set().union(*(index.near(w) for w in wanted.values()))
        near = select(PlateListNearIndex.entry_pk).where(PlateListNearIndex.digest.in_(digests))
        exact = PlateListEntry.plate_index.in_({index.exact(w) for w in wanted.values()})
        async with self._sf() as s:
            rows = await s.scalars(
                select(PlateListEntry).where(or_(PlateListEntry.id.in_(near), exact), self._active())
            )
            listed = [(r.kind, self._open("plate", r)) for r in rows]
        return {
            p: frozenset(kind for kind, plate in listed if same_plate(w, plate)) for p, w in wanted.items()
        }

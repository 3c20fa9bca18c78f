"""Fees of visits in the database: tariff versions, payments, tickets and revenue.

A visit is charged by the tariff version in effect at its entry, so a tariff change never alters the
fee of a car that entered before it. Versions are only ever added, never edited, and never take
effect in the past.
"""

from __future__ import annotations

import bisect
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.api import audit, pairing
from services.api import stats as stats_mod
from services.api.db import as_utc, utc_naive
from services.api.fee_schemas import (
    FeePublic,
    PaymentPublic,
    PaymentStatus,
    Revenue,
    RevenueBucket,
    TariffRules,
    TariffVersionPublic,
    VisitBilling,
)
from services.api.fees import fee
from services.api.models import Event, Payment, TariffVersion, VisitRow
from services.api.pairing import hour_of
from services.api.schemas import Ticket, VisitPublic
from services.api.store import EventStore
from services.api.times import to_local

#: Crockford's base 32: no I, L, O or U, so a ticket id read aloud or typed back is unambiguous.
TICKET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ANNOTATE_CHUNK = 500  # visits billed per round trip in a streamed export
TICKET_CHARS = 8  # 40 bits: a collision is unlikely before about a million visits

#: Plate -> its plate-list memberships (e.g. {"staff"}); the plate-list feature supplies the lookup.
Memberships = Callable[[list[str]], Awaitable[dict[str, frozenset[str]]]]


async def no_memberships(_plates: list[str]) -> dict[str, frozenset[str]]:
    return {}


class BillingError(ValueError):
    """A request the current data refuses: which field, and why in one line."""

    def __init__(self, field: str, msg: str) -> None:
        super().__init__(msg)
        self.field = field


def ticket_id(visit_key: str) -> str:
    """A short id for the printed ticket: the first 40 bits of the key's SHA-256, e.g. 'K7M2-9QXD'."""
    bits = int.from_bytes(hashlib.sha256(visit_key.encode()).digest()[:5], "big")
    chars = "".join(TICKET_ALPHABET[(bits >> shift) & 31] for shift in range(35, -1, -5))
    return f"{chars[:4]}-{chars[4:]}"


def visit_key(v: VisitPublic) -> str:
    key = v.entry_event_id or v.exit_event_id
    assert key is not None  # a visit has an entry or an exit
    return str(key)


class Billing:
    def __init__(
        self,
        sf: async_sessionmaker,
        store: EventStore,
        tz: ZoneInfo,
        clock: Callable[[], datetime],
        memberships: Memberships = no_memberships,
    ) -> None:
        self._sf = sf
        self._store = store
        self.tz = tz
        self._clock = clock
        self._memberships = memberships

    # -- tariff versions ---------------------------------------------------------------------------------
    async def _versions(self) -> list[TariffVersion]:
        """Oldest effect first (ties: the later row last, so it wins)."""
        async with self._sf() as s:
            stmt = select(TariffVersion).order_by(TariffVersion.effective_from, TariffVersion.id)
            return list(await s.scalars(stmt))

    def _public_version(self, row: TariffVersion) -> TariffVersionPublic:
        return TariffVersionPublic(
            **TariffRules.model_validate_json(row.rules).model_dump(),
            version=row.id,
            effective_from=to_local(row.effective_from, self.tz),
            created_by=row.created_by,
            created_at=to_local(row.created_at, self.tz),
        )

    async def versions(self) -> list[TariffVersionPublic]:
        """Every version, the latest to take effect first."""
        return [self._public_version(r) for r in reversed(await self._versions())]

    async def add_version(
        self, rules: TariffRules, effective_from: datetime | None, client: str
    ) -> TariffVersionPublic:
        now = self._clock()
        effective_from = effective_from or now
        if effective_from < now - timedelta(minutes=1):  # a minute's slack for the client's clock
            raise BillingError(
                "effective_from", "effective_from is in the past: visits already charged would change"
            )
        versions = await self._versions()
        current = TariffRules.model_validate_json(versions[-1].rules).currency if versions else rules.currency
        if rules.currency != current:
            raise BillingError("currency", f"the currency stays {current}: revenue adds amounts up")
        row = TariffVersion(
            effective_from=utc_naive(effective_from),
            rules=rules.model_dump_json(),
            created_by=client,
            created_at=utc_naive(now),
        )
        async with self._sf() as s:
            s.add(row)
            await s.flush()
            after = {"effective_from": effective_from.isoformat(), "rules": rules.model_dump(mode="json")}
            await audit.record(s, actor=client, action="tariff", subject=f"version {row.id}", after=after)
            await s.commit()
            await s.refresh(row)
        return self._public_version(row)

    # -- fees and payments -------------------------------------------------------------------------------
    async def annotate_stream(self, visits: AsyncIterator[VisitPublic]) -> AsyncIterator[VisitPublic]:
        """`annotate` over a stream (exports), a chunk at a time so memory stays flat."""
        chunk: list[VisitPublic] = []
        async for v in visits:
            chunk.append(v)
            if len(chunk) == ANNOTATE_CHUNK:
                for billed in await self.annotate(chunk):
                    yield billed
                chunk = []
        for billed in await self.annotate(chunk):
            yield billed

    async def annotate(self, visits: list[VisitPublic]) -> list[VisitPublic]:
        """The visits with their ticket id, fee (final, or so far for a car inside) and payment."""
        if not visits:
            return []
        keys = [visit_key(v) for v in visits]
        done = [k for v, k in zip(visits, keys, strict=True) if v.status == "completed"]
        async with self._sf() as s:
            rows = await s.scalars(select(Payment).where(Payment.visit_key.in_(keys)))
            payments = {p.visit_key: p for p in rows}
            stored = {
                key: FeePublic(amount=amount, currency=currency, tariff_version=version, final=True)
                for key, amount, currency, version in await s.execute(
                    select(
                        Event.event_id,
                        VisitRow.fee_amount,
                        VisitRow.fee_currency,
                        VisitRow.fee_tariff_version,
                    )
                    .join(VisitRow, VisitRow.entry_pk == Event.id)
                    .where(Event.event_id.in_(done), VisitRow.fee_amount.is_not(None))
                )
            }
        # Only a car inside is charged here: a completed visit's fee was fixed when it was paired.
        inside = [v for v in visits if v.status == "parked" and v.entry_time is not None]
        so_far = await self.fees_so_far([(v.plate, v.entry_time) for v in inside], self._clock())
        stored.update((visit_key(v), charged) for v, charged in zip(inside, so_far, strict=True))
        out = []
        for v, key in zip(visits, keys, strict=True):
            billing = VisitBilling(
                visit_key=uuid.UUID(key),
                ticket_id=ticket_id(key),
                fee=stored.get(key),
                payment=self._public_payment(payments.get(key)),
            )
            out.append(v.model_copy(update={"billing": billing}))
        return out

    async def fees_so_far(self, inside: list[tuple[str, datetime]], now: datetime) -> list[FeePublic | None]:
        """Each car inside (plate, entry time): its fee so far by the version in effect at its entry,
        or None when it entered before any tariff."""
        if not inside:
            return []
        versions = await self._versions()
        starts = [as_utc(v.effective_from) for v in versions]
        rules = [TariffRules.model_validate_json(v.rules).tariff() for v in versions]
        lists = await self._memberships(sorted({plate for plate, _ in inside}))
        out: list[FeePublic | None] = []
        for plate, entered in inside:
            at = bisect.bisect_right(starts, as_utc(entered)) - 1
            if at < 0:
                out.append(None)
                continue
            amount = fee(rules[at], as_utc(entered), now, self.tz, lists.get(plate, frozenset()))
            out.append(
                FeePublic(
                    amount=amount, currency=rules[at].currency, tariff_version=versions[at].id, final=False
                )
            )
        return out

    def _public_payment(self, row: Payment | None) -> PaymentPublic:
        if row is None:
            return PaymentPublic(status="unpaid")
        return PaymentPublic(
            status=row.status,  # type: ignore[arg-type]
            amount=row.amount,
            currency=row.currency,
            set_by=row.set_by,
            set_at=to_local(row.set_at, self.tz),
        )

    async def visit(self, key: uuid.UUID) -> VisitPublic | None:
        """The visit whose key is `key` (its entry's event id, or its exit's without entry), billed."""
        found = await self._store.visit_by_key(str(key))
        return (await self.annotate([found]))[0] if found is not None else None

    async def ticket(self, key: uuid.UUID) -> Ticket | None:
        visit = await self.visit(key)
        if visit is None:
            return None
        tariff = None
        if visit.billing is not None and visit.billing.fee is not None:
            version = visit.billing.fee.tariff_version
            tariff = next(v for v in await self.versions() if v.version == version)
        return Ticket(visit=visit, tariff=tariff, timezone=str(self.tz))

    async def set_payment(self, key: uuid.UUID, status: PaymentStatus, client: str) -> VisitPublic | None:
        """Mark the visit paid (its fee now), waived or unpaid again; None when there is no such visit."""
        visit = await self.visit(key)
        if visit is None:
            return None
        assert visit.billing is not None
        charged = visit.billing.fee
        if status == "paid" and charged is None:
            raise BillingError(
                "status", "this visit has no fee to pay (no tariff, or no entry or exit seen); waive it"
            )
        async with self._sf() as s:
            row = await s.get(Payment, str(key)) or Payment(visit_key=str(key), status="unpaid")
            before = {"status": row.status, "amount": row.amount, "currency": row.currency}
            row.status = status
            row.amount = charged.amount if status == "paid" and charged else None
            row.currency = charged.currency if status == "paid" and charged else None
            row.set_by = client
            row.set_at = utc_naive(self._clock())
            s.add(row)
            after = {"status": row.status, "amount": row.amount, "currency": row.currency}
            await audit.record(
                s, actor=client, action="payment", subject=str(key), before=before, after=after
            )
            await s.commit()
        return await self.visit(key)

    # -- revenue -----------------------------------------------------------------------------------------
    async def revenue(self, since: datetime, until: datetime, interval: stats_mod.Interval) -> Revenue:
        """Fees of the visits that ended in [since, until), per local hour or day, by payment status:
        whole hours from the roll-ups, the part-hours at either end from the visit rows."""
        v = VisitRow
        first, last = pairing.whole_hours(since, until)
        edges = [(utc_naive(since), first), (last, utc_naive(until))] if first < last else []
        edges = [(lo, hi) for lo, hi in edges or [(utc_naive(since), utc_naive(until))] if lo < hi]
        ended = (v.exit_time >= utc_naive(since), v.exit_time < utc_naive(until), v.fee_amount.is_not(None))
        # Few visits have a payment row: read them from `payments` rather than join every visit to it.
        settled_stmt = (
            select(v.exit_time, v.fee_amount, Payment.status, Payment.amount)
            .select_from(Payment)
            .join(Event, Event.event_id == Payment.visit_key)
            .join(v, v.entry_pk == Event.id)
            .where(*ended, Payment.status.in_(("paid", "waived")))
        )
        sums = stats_mod.Hours(first, 4)  # charged, paid, waived, unpaid
        async with self._sf() as s:
            if first < last:
                rolled = await pairing.rolled_up(s, first, last)
                charged = rolled.columns[pairing.STAT_COLUMNS.index("charged")]
                sums.hours, sums.columns = (
                    rolled.hours,
                    [charged, [0] * len(charged), [0] * len(charged), list(charged)],
                )
            for lo, hi in edges:
                part = select(v.exit_time, v.fee_amount).where(
                    v.exit_time >= lo, v.exit_time < hi, v.fee_amount.is_not(None)
                )
                for exit_time, amount in await s.execute(part):
                    sums.add(hour_of(exit_time), (amount, 0, 0, amount))
            for exit_time, amount, status, paid in await s.execute(settled_stmt):
                if status == "waived":
                    sums.add(hour_of(exit_time), (0, 0, amount, -amount))
                else:  # paid while inside and stayed on: what the longer stay added is still owed
                    sums.add(hour_of(exit_time), (0, paid or 0, 0, -min(amount, paid or 0)))
        names = ("charged", "paid", "waived", "unpaid")
        # Each UTC hour's sums land in the local bucket its start is in (stats.py: exact in whole-hour
        # zones); the range's first part-hour in the first bucket.
        starts, per_bucket = stats_mod.summed(sums, since, until, interval, self.tz)
        buckets = [
            RevenueBucket(start=start, **dict(zip(names, values, strict=True)))
            for start, *values in zip(starts, *per_bucket, strict=True)
        ]
        versions = await self._versions()
        currency = TariffRules.model_validate_json(versions[-1].rules).currency if versions else None
        return Revenue(
            interval=interval,
            timezone=str(self.tz),
            currency=currency,
            buckets=buckets,
            **dict(zip(names, sums.totals(), strict=True)),
        )

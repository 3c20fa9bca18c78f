"""Alerts: raised once each, stored sealed, then published on the bus, shown live and queued for
every webhook (the outbox rows are written in the alert's own transaction, so none is lost).

What raises one:
- a stored event whose plate is on the deny or watch list (one misread allowed);
- an entry of a plate on none of allow/member/staff while the lot is members-only (API_MEMBERS_ONLY);
- a car parked longer than API_OVERSTAY_ALERT_HOURS (a periodic check; once per visit);
- an exit (or a late entry) that completes a visit with a fee still unpaid (not paid, not waived).

Each alert has a unique `dedupe` key (kind + the event or visit it is about): a redelivered event or a
check that runs again finds it taken and raises nothing.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from anpr.messages import AlertKind, AlertMessage, EventMessage, EventType
from services.api.billing import Billing
from services.api.db import as_utc, utc_naive
from services.api.keyring import Keys
from services.api.lists import ALERTING, TRUSTED, PlateLists
from services.api.live import LiveEventStore
from services.api.models import Alert, Event, VisitRow, Webhook, WebhookDelivery
from services.api.schemas import AlertPublic, VisitPublic
from services.api.times import to_local

log = logging.getLogger("services.api.alerts")
TABLE = "alerts"


def alert_message(keys: Keys, row: Alert) -> AlertMessage:
    """The stored alert as it is published and POSTed."""
    return AlertMessage(
        alert_id=uuid.UUID(row.alert_id),
        kind=AlertKind(row.kind),
        plate=keys.cipher.open(TABLE, "plate", row.alert_id, row.plate_ct).decode(),
        list_kind=row.list_kind,  # type: ignore[arg-type]
        event_id=uuid.UUID(row.event_id) if row.event_id else None,
        visit_key=uuid.UUID(row.visit_key) if row.visit_key else None,
        camera=row.camera,
        at=as_utc(row.created_at),
        detail=row.detail,
    )


class AlertCenter:
    def __init__(
        self,
        sf: async_sessionmaker,
        keys: Keys,
        lists: PlateLists,
        tz: tzinfo,
        clock: Callable[[], datetime],
        members_only: bool,
    ) -> None:
        self._sf = sf
        self._keys = keys
        self._lists = lists
        self._tz = tz
        self._clock = clock
        self.members_only = members_only
        #: Called with each new alert, after it is committed (bus, live feed, webhook worker).
        self.listeners: list[Callable[[AlertMessage], None]] = []

    def public(self, msg: AlertMessage) -> AlertPublic:
        return AlertPublic(**msg.model_dump(exclude={"schema_version", "at"}), at=to_local(msg.at, self._tz))

    async def raise_alert(
        self,
        kind: AlertKind,
        plate: str,
        about: str,
        *,
        event_id: uuid.UUID | None = None,
        visit_key: uuid.UUID | None = None,
        camera: str | None = None,
        list_kind: str | None = None,
        detail: str = "",
    ) -> AlertMessage | None:
        """Store the alert and its webhook deliveries; None when one was raised about `about` before."""
        aid = str(uuid.uuid4())
        now = self._clock()
        row = Alert(
            alert_id=aid,
            dedupe=f"{kind.value}:{about}",
            kind=kind.value,
            plate_ct=self._keys.cipher.seal(TABLE, "plate", aid, plate.encode()),
            list_kind=list_kind,
            event_id=str(event_id) if event_id else None,
            visit_key=str(visit_key) if visit_key else None,
            camera=camera,
            detail=detail[:255],
            created_at=utc_naive(now),
        )
        async with self._sf() as s:
            try:
                s.add(row)
                await s.flush()
                hooks = await s.scalars(select(Webhook.id))
                s.add_all(
                    WebhookDelivery(
                        webhook_pk=h, alert_pk=row.id, state="pending", attempts=0, next_at=row.created_at
                    )
                    for h in hooks
                )
                await s.commit()
            except IntegrityError:
                await s.rollback()
                if await s.scalar(select(Alert.id).where(Alert.dedupe == row.dedupe)) is not None:
                    return None  # raised before
                raise
        msg = alert_message(self._keys, row)
        log.info("alert %s (%s)", aid, kind.value)
        for listener in self.listeners:
            try:
                listener(msg)
            except Exception:  # one failing listener must not keep the alert from the others
                log.exception("alert listener failed")
        return msg

    async def on_stored(self, event: EventMessage) -> list[AlertMessage]:
        """Alerts a newly stored event raises."""
        async with self._sf() as s:
            matches = await self._lists.matches(s, event.plate)
        raised = []
        for kind in sorted({m.kind for m in matches} & ALERTING):
            listed = next(m.plate for m in matches if m.kind == kind)
            detail = f"on the {kind} list as {listed}" if listed != event.plate else f"on the {kind} list"
            raised.append(
                await self.raise_alert(
                    AlertKind.LISTED,
                    event.plate,
                    f"{event.event_id}:{kind}",
                    event_id=event.event_id,
                    camera=event.camera,
                    list_kind=kind,
                    detail=detail,
                )
            )
        trusted = {m.kind for m in matches} & TRUSTED
        if self.members_only and event.type is EventType.ENTRY and not trusted:
            raised.append(
                await self.raise_alert(
                    AlertKind.UNKNOWN_MEMBERS_ONLY,
                    event.plate,
                    str(event.event_id),
                    event_id=event.event_id,
                    visit_key=event.event_id,
                    camera=event.camera,
                    detail="entered the members-only lot; not on the allow, member or staff list",
                )
            )
        return [a for a in raised if a is not None]

    async def check_overstays(self, store: LiveEventStore, limit: timedelta) -> list[AlertMessage]:
        """One alert per visit parked longer than `limit` (still inside, as the Inside view counts)."""
        occupancy = await store.occupancy()
        raised = []
        for car in occupancy.vehicles + occupancy.overstays:
            if car.parked_s > limit.total_seconds():
                hours = car.parked_s / 3600
                msg = await self.raise_alert(
                    AlertKind.OVERSTAY,
                    car.plate,
                    str(car.entry_event_id),
                    visit_key=car.entry_event_id,
                    detail=f"parked {hours:.1f} h (limit {limit.total_seconds() / 3600:g} h)",
                )
                if msg is not None:
                    raised.append(msg)
        return raised

    async def on_visit_ended(self, billed: VisitPublic) -> AlertMessage | None:
        """A completed visit (annotated by the fee engine) that owes a fee nobody paid or waived."""
        charged = billed.billing.fee if billed.billing else None
        if billed.status != "completed" or charged is None or charged.amount <= 0:
            return None
        assert billed.billing is not None
        if billed.billing.payment.status in ("paid", "waived"):
            return None
        return await self.left_unpaid(
            billed, f"left without paying {charged.amount} ({charged.currency} minor units)"
        )

    async def left_unpaid(
        self, visit: VisitPublic, detail: str = "left without paying"
    ) -> AlertMessage | None:
        """The visit ended unpaid. Once per visit (keyed by its visit key)."""
        key = visit.entry_event_id or visit.exit_event_id
        if key is None:
            raise ValueError("a visit has an entry or an exit event")
        return await self.raise_alert(
            AlertKind.LEFT_UNPAID,
            visit.plate,
            str(key),
            event_id=visit.exit_event_id,
            visit_key=key,
            camera=visit.exit_camera,
            detail=detail,
        )

    async def page(self, kind: AlertKind | None, limit: int, offset: int) -> tuple[list[AlertPublic], int]:
        async with self._sf() as s:
            stmt = select(Alert).order_by(Alert.id.desc())
            if kind is not None:
                stmt = stmt.where(Alert.kind == kind.value)
            total = await s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
            rows = list(await s.scalars(stmt.limit(limit).offset(offset)))
        return [self.public(alert_message(self._keys, r)) for r in rows], int(total or 0)


class AlertingEventStore(LiveEventStore):
    """The live store, plus: every newly stored event is checked against the lists, and a visit it
    completes is checked for an unpaid fee."""

    def __init__(self, alerts: AlertCenter, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.alerts = alerts
        #: The fee engine, set once it exists (it reads this store, so it is made after it).
        self.billing: Billing | None = None

    async def ingest(self, event: EventMessage) -> bool:
        stored = await super().ingest(event)
        if stored:
            # The event is stored and acknowledged whatever happens in these checks.
            try:
                await self.alerts.on_stored(event)
            except Exception as exc:
                log.error("alert check of event %s failed: %s", event.event_id, type(exc).__name__)
            await self._check_unpaid(str(event.event_id))
        return stored

    async def corrected(self, event_id: str) -> None:
        # a merge or a corrected exit plate may complete a visit that leaves owing
        await self._check_unpaid(event_id)

    async def _check_unpaid(self, event_id: str) -> None:
        """Whatever happens here, the event or the correction stays stored."""
        try:
            await self._raise_if_unpaid(event_id)
        except Exception as exc:
            log.error("unpaid check of event %s failed: %s", event_id, type(exc).__name__)

    async def _raise_if_unpaid(self, event_id: str) -> None:
        if self.billing is None:
            return
        async with self.sf() as s:
            pk = select(Event.id).where(Event.event_id == event_id).scalar_subquery()
            row = await s.scalar(
                select(VisitRow).where(
                    (VisitRow.exit_pk == pk) | (VisitRow.entry_pk == pk), VisitRow.exit_pk.is_not(None)
                )
            )
            visits = await self.visits_public(s, [row]) if row is not None and row.entry_pk else []
        for billed in await self.billing.annotate(visits):
            await self.alerts.on_visit_ended(billed)


async def check_overstays_every(
    alerts: AlertCenter, store: LiveEventStore, limit: timedelta, every_s: float
) -> None:
    """The periodic overstay check, for as long as the service runs."""
    while True:
        try:
            await alerts.check_overstays(store, limit)
        except Exception as exc:  # the database may be away; the next round tries again
            log.warning("overstay check failed: %s", type(exc).__name__)
        await asyncio.sleep(every_s)

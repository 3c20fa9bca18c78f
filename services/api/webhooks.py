"""Webhooks: every alert POSTed to each of the owner's URLs, signed, retried until it arrives.

The outbox is the `webhook_deliveries` table: a row per alert and webhook, written in the alert's
own transaction, so a delivery survives a restart or a receiver that is down for days. The worker
(one task in the API process) sends what is due, records each attempt (status code or error, time)
in `webhook_attempts`, and on failure waits `API_WEBHOOK_RETRY_BASE_S` doubled per attempt (at most
`API_WEBHOOK_RETRY_MAX_S`) until `API_WEBHOOK_MAX_ATTEMPTS`. Delivery is at least once: a receiver
may see one alert twice (a restart mid-attempt) and should dedupe on `X-ANPR-Delivery`.

Signature: `X-ANPR-Signature: sha256=<hex HMAC-SHA256(secret, "<X-ANPR-Timestamp>." + body)>`, the
timestamp in Unix seconds, so a receiver can refuse an old (replayed) request and a body or time
that was changed. The secret is sealed in the database and shown to the owner once, at creation.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from anpr.messages import encode
from services.api import audit
from services.api.alerts import alert_message
from services.api.db import utc_naive
from services.api.keyring import Keys
from services.api.models import Alert, Webhook, WebhookAttempt, WebhookDelivery
from services.api.schemas import AttemptPublic, DeliveryPublic, WebhookCreated, WebhookPublic
from services.api.settings import ApiSettings
from services.api.times import to_local

log = logging.getLogger("services.api.webhooks")
TABLE = "webhooks"
SIGNATURE_HEADER = "X-ANPR-Signature"
TIMESTAMP_HEADER = "X-ANPR-Timestamp"
DELIVERY_HEADER = "X-ANPR-Delivery"
BATCH = 16
URL_MAX = 2048  # the column
#: The longest the worker sleeps without looking at the outbox (new alerts wake it at once).
IDLE_S = 30.0


class NoSuchWebhook(LookupError):
    pass


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def check_url(url: str, allow_http: bool) -> str:
    """The URL as it will be called, or ValueError naming what to fix."""
    try:
        parsed = httpx.URL(url.strip())
        port = parsed.port
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"not a URL: {exc}") from None
    if port is not None and not 0 < port < 65536:
        raise ValueError("the port must be 1-65535")
    if len(str(parsed)) > URL_MAX:
        raise ValueError(f"the URL is longer than {URL_MAX} characters once encoded")
    schemes = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in schemes:
        raise ValueError(f"the URL must start with {' or '.join(s + '://' for s in schemes)}")
    if not parsed.host:
        raise ValueError("the URL has no host")
    if parsed.userinfo:
        raise ValueError("put no credentials in the URL: the signature proves the sender")
    return str(parsed)


class Webhooks:
    def __init__(
        self,
        sf: async_sessionmaker,
        keys: Keys,
        tz: tzinfo,
        clock: Callable[[], datetime],
        settings: ApiSettings,
    ) -> None:
        self._sf = sf
        self._keys = keys
        self._tz = tz
        self._clock = clock
        self._settings = settings
        self._wake = asyncio.Event()
        self._http = httpx.AsyncClient(timeout=settings.webhook_timeout_s, trust_env=False)

    def wake(self, *_: object) -> None:
        """Something is due now (a new alert)."""
        self._wake.set()

    async def close(self) -> None:
        await self._http.aclose()

    # -- the owner's webhooks ----------------------------------------------------------------------------
    async def create(self, url: str, created_by: str) -> WebhookCreated:
        url = check_url(url, self._settings.webhook_allow_http)
        secret = secrets.token_urlsafe(32)
        uid = str(uuid.uuid4())
        row = Webhook(
            uid=uid,
            url=url,
            secret_ct=self._keys.cipher.seal(TABLE, "secret", uid, secret.encode()),
            created_by=created_by,
            created_at=utc_naive(self._clock()),
        )
        async with self._sf() as s, s.begin():
            s.add(row)
            await audit.record(s, actor=created_by, action="webhook.add", subject=uid, after={"url": url})
        return WebhookCreated(**self._public(row, {}).model_dump(), secret=secret)

    async def remove(self, webhook_id: uuid.UUID, actor: str) -> WebhookPublic:
        """Delete it and its undelivered alerts."""
        async with self._sf() as s, s.begin():
            row = await s.scalar(select(Webhook).where(Webhook.uid == str(webhook_id)))
            if row is None:
                raise NoSuchWebhook(str(webhook_id))
            gone = self._public(row, await self._counts(s, row.id))
            await s.execute(delete(Webhook).where(Webhook.id == row.id))
            await audit.record(
                s, actor=actor, action="webhook.remove", subject=row.uid, before={"url": row.url}
            )
        return gone

    async def all(self) -> list[WebhookPublic]:
        async with self._sf() as s:
            rows = list(await s.scalars(select(Webhook).order_by(Webhook.id)))
            return [self._public(r, await self._counts(s, r.id)) for r in rows]

    async def _counts(self, s, webhook_pk: int) -> dict[str, int]:  # noqa: ANN001
        rows = await s.execute(
            select(WebhookDelivery.state, func.count())
            .where(WebhookDelivery.webhook_pk == webhook_pk)
            .group_by(WebhookDelivery.state)
        )
        return dict(rows.all())

    def _public(self, row: Webhook, counts: dict[str, int]) -> WebhookPublic:
        return WebhookPublic(
            id=uuid.UUID(row.uid),
            url=row.url,
            created_by=row.created_by,
            created_at=to_local(row.created_at, self._tz),
            pending=counts.get("pending", 0),
            delivered=counts.get("delivered", 0),
            failed=counts.get("failed", 0),
        )

    async def deliveries(
        self, webhook_id: uuid.UUID, limit: int, offset: int
    ) -> tuple[list[DeliveryPublic], int]:
        """A webhook's deliveries, newest first, each with its attempts."""
        async with self._sf() as s:
            pk = await s.scalar(select(Webhook.id).where(Webhook.uid == str(webhook_id)))
            if pk is None:
                raise NoSuchWebhook(str(webhook_id))
            total = await s.scalar(select(func.count()).where(WebhookDelivery.webhook_pk == pk))
            rows = (
                await s.execute(
                    select(WebhookDelivery, Alert.alert_id)
                    .join(Alert, Alert.id == WebhookDelivery.alert_pk)
                    .where(WebhookDelivery.webhook_pk == pk)
                    .order_by(WebhookDelivery.id.desc())
                    .limit(limit)
                    .offset(offset)
                )
            ).all()
            tries = await s.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_pk.in_([d.id for d, _ in rows]))
                .order_by(WebhookAttempt.id)
            )
            by_delivery: dict[int, list[AttemptPublic]] = {}
            for t in tries:
                by_delivery.setdefault(t.delivery_pk, []).append(
                    AttemptPublic(at=to_local(t.at, self._tz), status_code=t.status_code, error=t.error)
                )
        items = [
            DeliveryPublic(
                id=d.id,
                alert_id=uuid.UUID(alert_id),
                state=d.state,
                attempts=by_delivery.get(d.id, []),
                next_at=to_local(d.next_at, self._tz) if d.state == "pending" else None,
                delivered_at=to_local(d.delivered_at, self._tz) if d.delivered_at else None,
            )
            for d, alert_id in rows
        ]
        return items, int(total or 0)

    # -- the worker --------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Deliver what is due, then sleep until the next retry is due or a new alert wakes it."""
        while True:
            self._wake.clear()
            try:
                if await self.deliver_due() == BATCH:
                    continue  # a full batch: more may be due
                pause = await self._until_next()
            except Exception as exc:  # the database may be away; nothing is lost, try again soon
                log.warning("webhook deliveries paused: %s", type(exc).__name__)
                pause = self._settings.webhook_retry_base_s
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def _until_next(self) -> float:
        async with self._sf() as s:
            due = await s.scalar(
                select(func.min(WebhookDelivery.next_at)).where(WebhookDelivery.state == "pending")
            )
        if due is None:
            return IDLE_S
        wait = (due - utc_naive(self._clock())).total_seconds()
        return min(max(wait, 0.01), IDLE_S)

    async def deliver_due(self) -> int:
        """Try every delivery that is due (at most a batch, in parallel); how many were tried."""
        async with self._sf() as s:
            rows = (
                await s.execute(
                    select(WebhookDelivery, Webhook, Alert)
                    .join(Webhook, Webhook.id == WebhookDelivery.webhook_pk)
                    .join(Alert, Alert.id == WebhookDelivery.alert_pk)
                    .where(
                        WebhookDelivery.state == "pending",
                        WebhookDelivery.next_at <= utc_naive(self._clock()),
                    )
                    .order_by(WebhookDelivery.next_at)
                    .limit(BATCH)
                )
            ).all()
        await asyncio.gather(*(self._attempt(d, hook, alert) for d, hook, alert in rows))
        return len(rows)

    async def _attempt(self, delivery: WebhookDelivery, hook: Webhook, alert: Alert) -> None:
        body = encode(alert_message(self._keys, alert))
        secret = self._keys.cipher.open(TABLE, "secret", hook.uid, hook.secret_ct)
        now = self._clock()
        timestamp = int(now.timestamp())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            DELIVERY_HEADER: f"{alert.alert_id}/{hook.uid}",
        }
        status_code: int | None = None
        error: str | None = None
        try:
            resp = await self._http.post(hook.url, content=body, headers=headers)
            status_code = resp.status_code
            if not resp.is_success:
                error = f"HTTP {status_code}"
        except Exception as exc:  # any failure to send is a failed attempt; never log the URL or body
            error = type(exc).__name__
        tries = delivery.attempts + 1
        values: dict[str, object] = {"attempts": tries}
        if error is None:
            values.update(state="delivered", delivered_at=utc_naive(self._clock()))
        elif tries >= self._settings.webhook_max_attempts:
            values.update(state="failed")
            log.warning(
                "webhook %s: alert %s given up after %d attempts (%s)", hook.uid, alert.alert_id, tries, error
            )
        else:
            values.update(next_at=utc_naive(now + self.backoff(tries)))
        async with self._sf() as s, s.begin():
            s.add(
                WebhookAttempt(
                    delivery_pk=delivery.id, at=utc_naive(now), status_code=status_code, error=error
                )
            )
            await s.execute(update(WebhookDelivery).where(WebhookDelivery.id == delivery.id).values(**values))

    def backoff(self, tries: int) -> timedelta:
        s = self._settings
        return timedelta(seconds=min(s.webhook_retry_base_s * 2 ** min(tries - 1, 30), s.webhook_retry_max_s))

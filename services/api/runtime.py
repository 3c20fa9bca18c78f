"""Everything the running service holds, started in order: database, migrations, keys, consumer, and
the alert tasks (webhook deliveries, the overstay check)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytz
from sqlalchemy import text

from anpr.messages import AlertMessage, Kind, topic, utcnow
from services.api import audit, keyfile
from services.api.alerts import AlertCenter, AlertingEventStore, check_overstays_every
from services.api.auth import Authenticator, ClientAdmin
from services.api.billing import Billing
from services.api.consumer import EventConsumer
from services.api.corrections import Corrections
from services.api.db import make_engine, migrate, session_factory, wait_for_db
from services.api.deadletters import DeadLetters
from services.api.keyring import Keys, open_keys, plaintext_keys
from services.api.lists import PlateLists
from services.api.live import LiveFeed
from services.api.ratelimit import FailureLimiter
from services.api.retention import Policy, purge_forever
from services.api.settings import ApiSettings
from services.api.store import EventStore
from services.api.webhooks import Webhooks

log = logging.getLogger("services.api")


class ConfigError(Exception):
    """Settings that let the service start but not work (a missing key or passphrase)."""


def require_index_key(settings: ApiSettings) -> bytes:
    key = settings.blind_index_key_bytes
    if key is None:
        raise ConfigError("API_BLIND_INDEX_KEY is not set; `python -m services.api keys init` makes one")
    return key


def audit_secret(settings: ApiSettings) -> bytes:
    """The audit chain's key; in development only, without one, a key derived from the blind-index key."""
    key = settings.audit_key_bytes
    if key is not None:
        return key
    if settings.common.environment != "development":
        raise ConfigError("API_AUDIT_KEY is not set; `python -m services.api keys init` makes one")
    log.warning("development: API_AUDIT_KEY unset; the audit chain uses a key derived from the index key")
    return hashlib.sha256(b"anpr-api development audit key\x00" + require_index_key(settings)).digest()


def load_pair(settings: ApiSettings) -> keyfile.KeyPair:
    if settings.key_passphrase is None:
        raise ConfigError("API_KEY_PASSPHRASE is not set (environment or /run/secrets/api_key_passphrase)")
    return keyfile.load(settings.private_key_file, settings.key_passphrase.get_secret_value())


class Runtime:
    def __init__(self, settings: ApiSettings, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.tz = pytz.timezone(settings.common.timezone)
        self.engine = make_engine(settings.database_url, settings.db_pool_size)
        self.sf = session_factory(self.engine)
        self.consumer: EventConsumer | None = None
        self.live = LiveFeed()  # stored events, for the web app's live stream
        self._keys: Keys | None = None
        self._store: EventStore | None = None
        self._dead_letters: DeadLetters | None = None
        self._auth: Authenticator | None = None
        self._lists: PlateLists | None = None
        self._alerts: AlertCenter | None = None
        self._webhooks: Webhooks | None = None
        self._tasks: list[asyncio.Task] = []
        self._billing: Billing | None = None
        self._purger: asyncio.Task[None] | None = None
        # Only the hash is kept, and compared in constant time.
        token = settings.device_token.get_secret_value() if settings.device_token else None
        self.device_token_hash = hashlib.sha256(token.encode()).digest() if token else None

    async def open_database(self) -> None:
        await wait_for_db(self.engine, self.settings.db_wait_s)
        await migrate(self.engine)

    async def open_keys(self) -> Keys:
        index_key = require_index_key(self.settings)
        if self.settings.benchmark_plaintext:
            if self.settings.common.environment != "development":  # the settings refuse it too
                raise ConfigError("API_BENCHMARK_PLAINTEXT is for benchmarks in development only")
            log.warning("BENCHMARK MODE: sensitive fields are stored UNENCRYPTED")
            self._keys = plaintext_keys(index_key)
        else:
            self._keys = await open_keys(self.sf, load_pair(self.settings), index_key)
        audit.attach(self.sf, self._keys.cipher, audit_secret(self.settings), self.clock)
        return self._keys

    async def start(self) -> None:
        """Database (waiting), migrations, keys, then the MQTT consumer; nothing left open on failure."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        await self.open_database()
        keys = await self.open_keys()
        s = self.settings
        max_stay = timedelta(hours=s.max_stay_hours)
        self._lists = PlateLists(self.sf, keys, self.tz, self.clock)
        alerts = self._alerts = AlertCenter(self.sf, keys, self._lists, self.tz, self.clock, s.members_only)
        store = self._store = AlertingEventStore(
            alerts, self.live, self.sf, keys, self.tz, self.clock, max_stay
        )
        self._webhooks = Webhooks(self.sf, keys, self.tz, self.clock, s)
        alerts.listeners += [
            self._webhooks.wake,
            self._publish_alert,
            lambda m: self.live.publish(alerts.public(m)),
        ]
        self._auth = Authenticator(
            self.sf,
            keys.cipher,
            self.clock,
            idle=timedelta(minutes=s.session_idle_minutes),
            max_age=timedelta(hours=s.session_max_hours),
            per_client=FailureLimiter(s.login_max_failures, s.login_window_s),
            per_address=FailureLimiter(s.login_max_failures_per_address, s.login_window_s),
        )
        self._dead_letters = DeadLetters(self.sf, keys, self.tz, self.clock)
        self._billing = Billing(
            self.sf,
            store,
            ZoneInfo(s.common.timezone),
            self.clock,
            memberships=self._lists.memberships_of,
        )
        store.billing = self._billing  # visits completed unpaid raise an alert
        policy = self.retention_policy()
        if policy.records_days or policy.snapshots_days:
            self._purger = asyncio.create_task(
                purge_forever(self.sf, policy, self.clock, s.retention_interval_s), name="retention"
            )
        if s.mqtt_ingest:
            loop = asyncio.get_running_loop()
            self.consumer = EventConsumer(s, self._store, self._dead_letters, self.database_ok, loop)
            self.consumer.start()
        self._tasks.append(asyncio.create_task(self._webhooks.run(), name="api-webhooks"))
        if s.overstay_alert_hours is not None:
            limit = timedelta(hours=s.overstay_alert_hours)
            check = check_overstays_every(alerts, self._store, limit, s.alert_check_s)
            self._tasks.append(asyncio.create_task(check, name="api-overstays"))
        log.info("records service ready (database %s)", self.engine.url.render_as_string(hide_password=True))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._webhooks is not None:
            await self._webhooks.close()
        if self._purger is not None:
            self._purger.cancel()
            await asyncio.gather(self._purger, return_exceptions=True)
        if self.consumer is not None:
            await self.consumer.stop()
        await self.engine.dispose()

    async def database_ok(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
            return True
        except Exception:
            return False

    @property
    def store(self) -> EventStore:
        assert self._store is not None, "runtime not started"
        return self._store

    def _publish_alert(self, alert: AlertMessage) -> None:
        """QoS 1 on `<prefix>/alerts`, through the consumer's connection (paho queues it while away)."""
        if self.consumer is not None:
            self.consumer.bus.publish(topic(self.settings.common.topic_prefix, Kind.ALERTS), alert, qos=1)

    @property
    def lists(self) -> PlateLists:
        assert self._lists is not None, "runtime not started"
        return self._lists

    @property
    def alerts(self) -> AlertCenter:
        assert self._alerts is not None, "runtime not started"
        return self._alerts

    @property
    def webhooks(self) -> Webhooks:
        assert self._webhooks is not None, "runtime not started"
        return self._webhooks

    @property
    def corrections(self) -> Corrections:
        return Corrections(self.store, self.clock)

    @property
    def dead_letters(self) -> DeadLetters:
        assert self._dead_letters is not None, "runtime not started"
        return self._dead_letters

    @property
    def auth(self) -> Authenticator:
        assert self._auth is not None, "runtime not started"
        return self._auth

    @property
    def billing(self) -> Billing:
        assert self._billing is not None, "runtime not started"
        return self._billing

    @property
    def keys(self) -> Keys:
        assert self._keys is not None, "keys not opened"
        return self._keys

    def retention_policy(self) -> Policy:
        return Policy(self.settings.retention_records_days, self.settings.retention_snapshots_days)

    def client_admin(self) -> ClientAdmin:
        return ClientAdmin(self.sf, self.keys.cipher, self.clock)

"""Everything the running service holds, started in order: database, migrations, keys, consumer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import pytz
from sqlalchemy import text

from anpr.messages import utcnow
from services.api import keyfile
from services.api.auth import Authenticator, ClientAdmin
from services.api.consumer import EventConsumer
from services.api.corrections import Corrections
from services.api.db import make_engine, migrate, session_factory, wait_for_db
from services.api.deadletters import DeadLetters
from services.api.keyring import Keys, open_keys, plaintext_keys
from services.api.live import LiveEventStore, LiveFeed
from services.api.ratelimit import FailureLimiter
from services.api.settings import ApiSettings
from services.api.store import EventStore

log = logging.getLogger("services.api")


class ConfigError(Exception):
    """Settings that let the service start but not work (a missing key or passphrase)."""


def require_index_key(settings: ApiSettings) -> bytes:
    key = settings.blind_index_key_bytes
    if key is None:
        raise ConfigError("API_BLIND_INDEX_KEY is not set; `python -m services.api keys init` makes one")
    return key


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
        self._store = LiveEventStore(self.live, self.sf, keys, self.tz, self.clock, max_stay)
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
        if s.mqtt_ingest:
            loop = asyncio.get_running_loop()
            self.consumer = EventConsumer(s, self._store, self._dead_letters, self.database_ok, loop)
            self.consumer.start()
        log.info("records service ready (database %s)", self.engine.url.render_as_string(hide_password=True))

    async def stop(self) -> None:
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
    def keys(self) -> Keys:
        assert self._keys is not None, "keys not opened"
        return self._keys

    def client_admin(self) -> ClientAdmin:
        return ClientAdmin(self.sf, self.keys.cipher, self.clock)

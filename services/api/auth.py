"""Clients, login with API token + TOTP code, and sessions.

Tokens (client and session) are random 256-bit strings stored as SHA-256: a leaked table gives no
usable token, and high-entropy tokens need no slow hash. TOTP secrets are sealed like plates.

A TOTP code is accepted once: the client's last used time step is remembered and only later steps
pass (an atomic conditional UPDATE, so two concurrent logins cannot both use one code). Only the
current step and the previous one (clock skew) are tried; future codes are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.api import audit
from services.api.crypto import Cipher
from services.api.db import as_utc, utc_naive
from services.api.models import Client
from services.api.models import Session as SessionRow
from services.api.ratelimit import FailureLimiter

TOTP_STEP_S = 30
TOTP_DIGITS = 6
ISSUER = "ANPR lot"
TOKEN_PREFIX = "anpr_"
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_DUMMY_UID = "00000000-0000-0000-0000-000000000000"
INVALID_SESSION = "invalid or expired session"


class InvalidCredentials(Exception):
    """One error for every failed login, whatever failed: unknown token, wrong code, replay, disabled."""


class RateLimited(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after_s:.0f}s")
        self.retry_after_s = retry_after_s


class Unauthorized(Exception):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step `code` belongs to: the current one or the previous one; None otherwise."""
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S)
    step = int(now.timestamp()) // TOTP_STEP_S
    found = None
    for candidate in (step, step - 1):  # both compared, in constant time, whatever matches
        if hmac.compare_digest(totp.generate_otp(candidate), code) and found is None:
            found = candidate
    return found


@dataclass(frozen=True)
class Principal:
    client_id: int
    client_name: str
    session_id: int
    expires_at: datetime


@dataclass(frozen=True)
class NewClient:
    name: str
    token: str
    totp_secret: str

    @property
    def provisioning_uri(self) -> str:
        totp = pyotp.TOTP(self.totp_secret, digits=TOTP_DIGITS, interval=TOTP_STEP_S)
        return totp.provisioning_uri(name=self.name, issuer_name=ISSUER)


@dataclass(frozen=True)
class ClientInfo:
    name: str
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None


class ClientAdmin:
    """What the admin CLI does to clients."""

    def __init__(self, sf: async_sessionmaker, cipher: Cipher, clock: Callable[[], datetime]) -> None:
        self._sf = sf
        self._cipher = cipher
        self._clock = clock

    async def create(self, name: str) -> NewClient:
        if not _NAME.match(name):
            raise ValueError("client names are 1-64 characters of A-Z a-z 0-9 _ . @ -")
        new = NewClient(name=name, token=new_token(), totp_secret=pyotp.random_base32())
        uid = str(uuid.uuid4())
        async with self._sf() as s, s.begin():
            if await s.scalar(select(Client.id).where(Client.name == name)) is not None:
                raise ValueError(f"a client named {name!r} exists")
            s.add(
                Client(
                    uid=uid,
                    name=name,
                    token_hash=hash_token(new.token),
                    totp_ct=self._cipher.seal("clients", "totp_secret", uid, new.totp_secret.encode()),
                    disabled=False,
                    created_at=utc_naive(self._clock()),
                )
            )
            await audit.record(s, actor=audit.CLI_ACTOR, action="client_create", subject=name)
        return new

    async def list(self) -> list[ClientInfo]:
        async with self._sf() as s:
            rows = await s.scalars(select(Client).order_by(Client.name))
            return [
                ClientInfo(
                    r.name,
                    r.disabled,
                    as_utc(r.created_at),
                    as_utc(r.last_login_at) if r.last_login_at else None,
                )
                for r in rows
            ]

    async def disable(self, name: str) -> None:
        """Refuse its logins and end its sessions now."""
        async with self._sf() as s, s.begin():
            client_id = await self._id(s, name)
            await s.execute(update(Client).where(Client.id == client_id).values(disabled=True))
            await s.execute(
                update(SessionRow)
                .where(SessionRow.client_id == client_id, SessionRow.revoked_at.is_(None))
                .values(revoked_at=utc_naive(self._clock()))
            )
            await audit.record(s, actor=audit.CLI_ACTOR, action="client_disable", subject=name)

    async def delete(self, name: str) -> None:
        async with self._sf() as s, s.begin():
            client_id = await self._id(s, name)
            await s.execute(delete(SessionRow).where(SessionRow.client_id == client_id))
            await s.execute(delete(Client).where(Client.id == client_id))
            await audit.record(s, actor=audit.CLI_ACTOR, action="client_delete", subject=name)

    @staticmethod
    async def _id(s, name: str) -> int:  # noqa: ANN001
        client_id = await s.scalar(select(Client.id).where(Client.name == name))
        if client_id is None:
            raise LookupError(f"no client named {name!r}")
        return client_id


class Authenticator:
    def __init__(
        self,
        sf: async_sessionmaker,
        cipher: Cipher,
        clock: Callable[[], datetime],
        *,
        idle: timedelta,
        max_age: timedelta,
        per_client: FailureLimiter,
        per_address: FailureLimiter,
    ) -> None:
        self._sf = sf
        self._cipher = cipher
        self._clock = clock
        self.idle = idle
        self.max_age = max_age
        self._touch = min(timedelta(seconds=60), idle / 4)
        self._per_client = per_client
        self._per_address = per_address
        # An unknown token goes through the same decrypt-and-compare as a known one.
        self._dummy_ct = cipher.seal("clients", "totp_secret", _DUMMY_UID, pyotp.random_base32().encode())

    async def login(self, token: str, code: str, address: str) -> tuple[str, datetime]:
        """The per-client limit guards a client's TOTP code and holds even for the right code. The
        per-address limit guards against token guessing: it stops logins with an unknown token, not a
        client presenting its own token, so one address's failures (NAT, a proxy) lock no one else out.
        """
        now = self._clock()
        address_key = f"address:{address}"
        async with self._sf() as s:
            client = await s.scalar(select(Client).where(Client.token_hash == hash_token(token)))
            client_key = f"client:{client.id}" if client is not None else None
            if client_key is not None:
                wait = await self._per_client.retry_after(s, client_key, now)
            else:
                wait = await self._per_address.retry_after(s, address_key, now)
            if wait is not None:
                raise RateLimited(wait)
            uid, ct = (client.uid, client.totp_ct) if client is not None else (_DUMMY_UID, self._dummy_ct)
            step = matching_step(self._cipher.open("clients", "totp_secret", uid, ct).decode(), code, now)
            ok = client is not None and not client.disabled and step is not None
            if ok:
                assert client is not None and step is not None
                result = await s.execute(
                    update(Client)
                    .where(
                        Client.id == client.id,
                        or_(Client.last_totp_step.is_(None), Client.last_totp_step < step),
                    )
                    .values(last_totp_step=step, last_login_at=utc_naive(now))
                )
                ok = result.rowcount == 1  # 0: this step (or a later one) was already used
            name = client.name if client is not None else None  # a rollback expires the row
            if not ok:
                await s.rollback()
                if client_key is not None:
                    await self._per_client.fail(s, client_key, now)
                await self._per_address.fail(s, address_key, now)
                await audit.record(
                    s, actor=None, action="login_failed", subject=name, after={"address": address}
                )
                await s.commit()
                raise InvalidCredentials("invalid credentials")
            assert client is not None and client_key is not None
            session_token = new_token()
            expires = now + self.max_age
            s.add(
                SessionRow(
                    token_hash=hash_token(session_token),
                    client_id=client.id,
                    created_at=utc_naive(now),
                    last_seen_at=utc_naive(now),
                    expires_at=utc_naive(expires),
                    address=address[:64],
                )
            )
            await self._per_client.clear(s, client_key)
            await audit.record(s, actor=name, action="login", subject=name, after={"address": address})
            await s.commit()
        return session_token, expires

    async def authenticate(self, session_token: str) -> Principal:
        now = utc_naive(self._clock())
        async with self._sf() as s:
            found = (
                await s.execute(
                    select(SessionRow, Client)
                    .join(Client, Client.id == SessionRow.client_id)
                    .where(SessionRow.token_hash == hash_token(session_token))
                )
            ).first()
            # One answer whatever is wrong: unknown, revoked, expired, idle or of a disabled client.
            if found is None:
                raise Unauthorized(INVALID_SESSION)
            sess, client = found
            if sess.revoked_at is not None or client.disabled:
                raise Unauthorized(INVALID_SESSION)
            if now >= sess.expires_at or now - sess.last_seen_at > self.idle:
                raise Unauthorized(INVALID_SESSION)
            if now - sess.last_seen_at >= self._touch:  # not a write per request
                sess.last_seen_at = now
                await s.commit()
            return Principal(client.id, client.name, sess.id, as_utc(sess.expires_at))

    async def logout(self, principal: Principal) -> None:
        async with self._sf() as s, s.begin():
            await s.execute(
                update(SessionRow)
                .where(SessionRow.id == principal.session_id)
                .values(revoked_at=utc_naive(self._clock()))
            )

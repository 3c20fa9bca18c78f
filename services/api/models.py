"""Table models. Never returned by a route: schemas.py holds what clients see.

Columns ending in `_ct` hold sealed blobs (crypto.py); `*_index` / `digest` hold blind-index
HMACs; `*_hash` hold SHA-256 of high-entropy tokens. Times are naive UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Microseconds on MariaDB (its DATETIME drops them by default); SQLite keeps them as text.
UtcDateTime = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# Snapshots exceed MariaDB's 64 KiB BLOB.
Blob = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


def SmallBlob(length: int) -> LargeBinary:  # noqa: N802 - reads as a type
    """VARBINARY on MariaDB (LargeBinary(n) would be a TINYBLOB), BLOB on SQLite."""
    return LargeBinary(length).with_variant(mysql.VARBINARY(length), "mysql", "mariadb")


# SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RsaKey(Base):
    """Each RSA key pair that has wrapped data keys; the highest version is the current one."""

    __tablename__ = "rsa_keys"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DataKey(Base):
    """An AES-256 data key, stored only wrapped with the RSA key of `key_version`."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_version: Mapped[int] = mapped_column(ForeignKey("rsa_keys.version"))
    wrapped: Mapped[bytes] = mapped_column(SmallBlob(1024))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_plate_index_time", "plate_index", "time"),
        Index("ix_events_time", "time"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(8))
    camera: Mapped[str] = mapped_column(String(64), index=True)
    time: Mapped[datetime] = mapped_column(UtcDateTime)
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen: Mapped[datetime] = mapped_column(UtcDateTime)
    vehicle_class: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    read_count: Mapped[int] = mapped_column(Integer)
    plate_index: Mapped[str] = mapped_column(String(64))
    plate_ct: Mapped[bytes] = mapped_column(SmallBlob(255))
    candidates_ct: Mapped[bytes] = mapped_column(Blob)
    snapshot_ct: Mapped[bytes | None] = mapped_column(Blob, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EventNearIndex(Base):
    """Blind-index digests of an event's plate variants, for search tolerant of one misread."""

    __tablename__ = "event_near_index"

    event_pk: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)  # binds the sealed TOTP secret to its row
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    totp_ct: Mapped[bytes] = mapped_column(SmallBlob(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_totp_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Session(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    address: Mapped[str] = mapped_column(String(64))


class DeadLetter(Base):
    """An event that can never be stored as an event (larger than the database takes, a value its
    columns cannot hold). Kept whole, sealed, in `dead_letter_chunks` so no single row is large."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(8))
    camera: Mapped[str] = mapped_column(String(64))
    plate_ct: Mapped[bytes] = mapped_column(SmallBlob(255))
    reason: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer, doc="bytes of the event as JSON")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DeadLetterChunk(Base):
    __tablename__ = "dead_letter_chunks"

    dead_letter_pk: Mapped[int] = mapped_column(
        ForeignKey("dead_letters.id", ondelete="CASCADE"), primary_key=True
    )
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data_ct: Mapped[bytes] = mapped_column(Blob)


class LoginFailure(Base):
    """One failed login, counted per key (`client:<id>`, `address:<ip>`) by the login limiter."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "key", "at"), Index("ix_login_failures_at", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

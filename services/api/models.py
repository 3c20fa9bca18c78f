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
    SmallInteger,
    String,
    Text,
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


# -- plate lists, alerts and webhooks (alerts team) ------------------------------------------------------
class PlateListEntry(Base):
    """A plate on one of the owner's lists (deny / watch / allow / member / staff); sealed like events."""

    __tablename__ = "plate_list_entries"
    __table_args__ = (Index("ix_plate_list_entries_plate_index", "plate_index"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)  # binds the sealed fields to the row
    kind: Mapped[str] = mapped_column(String(16))
    plate_index: Mapped[str] = mapped_column(String(64))
    plate_ct: Mapped[bytes] = mapped_column(SmallBlob(255))
    note_ct: Mapped[bytes] = mapped_column(SmallBlob(1024))
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PlateListNearIndex(Base):
    """Blind-index digests of a listed plate's variants, so a read one character off still matches."""

    __tablename__ = "plate_list_near_index"

    entry_pk: Mapped[int] = mapped_column(
        ForeignKey("plate_list_entries.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Alert(Base):
    """An alert raised once: `dedupe` (kind + what it is about) is unique, so a redelivered event or a
    repeated periodic check never raises it twice."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(36), unique=True)
    dedupe: Mapped[str] = mapped_column(String(96), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    plate_ct: Mapped[bytes] = mapped_column(SmallBlob(255))
    list_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    visit_key: Mapped[str | None] = mapped_column(String(36), nullable=True)
    camera: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Webhook(Base):
    """An owner's URL that every alert is POSTed to, signed with its secret (sealed; shown once)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    url: Mapped[str] = mapped_column(String(2048))
    secret_ct: Mapped[bytes] = mapped_column(SmallBlob(255))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """The outbox: one alert to one webhook, pending until a 2xx answer (or out of attempts)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_state_next_at", "state", "next_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    webhook_pk: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WebhookAttempt(Base):
    """One try of a delivery: the receiver's status code, or why there was none."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_pk: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(255), nullable=True)


# -- fees: tariff versions and payments (migration 0005) ------------------------------------------------
class TariffVersion(Base):
    """A tariff as the owner set it; never edited: a change is a new row. A visit pays the version
    in effect at its entry (the latest `effective_from` not after it; on a tie, the later row)."""

    __tablename__ = "tariff_versions"
    __table_args__ = (Index("ix_tariff_versions_effective_from", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime)
    rules: Mapped[str] = mapped_column(Text, doc="the tariff as JSON (fee_schemas.TariffRules)")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Payment(Base):
    """A visit's payment status (no row: unpaid), keyed by the visit key; who set it and when."""

    __tablename__ = "payments"

    visit_key: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))  # unpaid | paid | waived
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True, doc="minor units, when paid")
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    set_by: Mapped[str] = mapped_column(String(64))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)


# -- audit log (audit team) ---------------------------------------------------------------------------------
class AuditHead(Base):
    """The chain's one head row (id 1): the last entry's number and hash. Appending updates it first, so
    its row lock serialises writers and two can never fork the chain; verify compares it with the last
    entry, so deleting the newest entries shows too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """One audited change. `hash` = HMAC-SHA256 under the audit key of the previous entry's hash and this
    entry's fields; `before_ct` / `after_ct` are sealed JSON (they may hold a plate). Under chain 2 the
    hash covers their SHA-256 digests, kept in `*_digest` once retention has dropped them (audit.py)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    before_ct: Mapped[bytes | None] = mapped_column(Blob, nullable=True)
    after_ct: Mapped[bytes | None] = mapped_column(Blob, nullable=True)
    chain: Mapped[int] = mapped_column(SmallInteger, server_default="1")
    before_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    after_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# -- records at a year's scale: corrections, and what ingest keeps ready for queries -------------------


class EventCorrection(Base):
    """An owner's correction of an event, never overwriting it: the newest row of an event is its state
    (corrected plate sealed and blind-indexed like events', or none; voided; split from its entry)."""

    __tablename__ = "event_corrections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_pk: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    plate_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    plate_ct: Mapped[bytes | None] = mapped_column(SmallBlob(255), nullable=True)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    split: Mapped[bool] = mapped_column(Boolean, default=False, doc="this exit pairs with no entry")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SightingRow(Base):
    """An event as every query sees it: corrections applied, voided events absent."""

    __tablename__ = "sightings"
    __table_args__ = (
        Index("ix_sightings_plate_index_time", "plate_index", "time", "event_pk"),
        Index("ix_sightings_time", "time", "event_pk"),
    )

    event_pk: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    plate_index: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(8))
    camera: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime] = mapped_column(UtcDateTime)
    split: Mapped[bool] = mapped_column(Boolean, default=False)


class VisitRow(Base):
    """A visit paired at ingest: one per entry, one per exit no entry pairs with. `open_until` is when
    the entry stopped being open (its exit, or the plate's next sighting); NULL while nothing followed."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_start_time", "start_time", "id"),
        Index("ix_visits_start_time_stay", "start_time", "duration_s"),  # a range's totals, index only
        Index("ix_visits_plate_index_start_time_stay", "plate_index", "start_time", "duration_s"),
        Index("ix_visits_entry_time", "entry_time"),
        Index("ix_visits_open_until_entry_time", "open_until", "entry_time"),  # who is inside
        Index("ix_visits_exit_time", "exit_time"),  # statistics' part-hours count stays by exit
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plate_index: Mapped[str] = mapped_column(String(64))
    entry_pk: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    exit_pk: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    start_time: Mapped[datetime] = mapped_column(UtcDateTime, doc="entry time, or exit time without entry")
    entry_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    exit_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    open_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True, doc="completed visits only")
    # The final fee of a completed visit, fixed when paired (stored_fees.py; migration 0008).
    fee_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True, doc="minor units")
    fee_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    fee_tariff_version: Mapped[int | None] = mapped_column(Integer, nullable=True)


class HourlyStats(Base):
    """Counts and fees per UTC hour, kept at ingest: no plate, only numbers."""

    __tablename__ = "stats_hourly"

    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    exits: Mapped[int] = mapped_column(Integer, default=0)
    visits_ended: Mapped[int] = mapped_column(Integer, default=0, doc="completed visits by exit hour")
    stay_s: Mapped[float] = mapped_column(Float, default=0.0, doc="their total stay")
    # No Python default: migration 0004 inserts roll-ups before this column exists.
    charged: Mapped[int] = mapped_column(BigInteger, server_default="0", doc="their fees, minor units")

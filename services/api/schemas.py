"""What clients send and receive. Table models (models.py) never leave the service.

Every time a client reads is in the lot's time zone (ANPR_TIMEZONE), with its UTC offset.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from anpr.messages import AlertKind, EventMessage, EventType, VehicleClass
from services.api.fee_schemas import TariffVersionPublic, VisitBilling
from services.api.times import QueryTime

T = TypeVar("T")

#: The ingest body is the bus message itself, so the edge sends one format whichever the path.
EventCreate = EventMessage


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="matches in all pages")
    limit: int
    offset: int


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=256, description="the client's API token")
    code: str = Field(pattern=r"^[0-9]{6}$", description="current TOTP code")


class LoginResponse(BaseModel):
    session_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime = Field(description="absolute expiry; idle sessions end sooner")
    idle_timeout_s: int


class CandidatePublic(BaseModel):
    text: str
    confidence: float


class EventPublic(BaseModel):
    event_id: uuid.UUID
    type: EventType
    plate: str
    confidence: float
    camera: str
    time: datetime
    first_seen: datetime
    last_seen: datetime
    vehicle_class: VehicleClass
    read_count: int
    candidates: list[CandidatePublic]
    has_snapshot: bool
    read_as: str | None = Field(
        default=None, description="the plate as the camera read it, when a correction changed it (else null)"
    )


class IngestResult(BaseModel):
    event_id: uuid.UUID
    stored: bool = Field(description="false when this event was already stored (redelivery)")


VisitStatus = Literal["parked", "completed", "no_entry", "no_exit"]


class VisitPublic(BaseModel):
    plate: str
    status: VisitStatus = Field(
        description="parked: inside now; completed: entry and exit; no_entry: exit seen without entry; "
        "no_exit: entry never matched by an exit (another entry followed, or it is older than "
        "the longest stay)"
    )
    entry_event_id: uuid.UUID | None
    entry_time: datetime | None
    entry_camera: str | None
    exit_event_id: uuid.UUID | None
    exit_time: datetime | None
    exit_camera: str | None
    duration_s: float | None = Field(description="time parked; for a parked vehicle, so far")
    billing: VisitBilling | None = Field(default=None, description="ticket, fee and payment status")


class VisitPage(Page[VisitPublic]):
    completed: int = Field(description="completed visits in the whole range (all pages)")
    avg_stay_s: float | None = Field(description="mean stay of the range's completed visits (all pages)")


class ParkedVehicle(BaseModel):
    plate: str
    entry_event_id: uuid.UUID
    entry_time: datetime
    parked_s: float


class Occupancy(BaseModel):
    at: datetime
    timezone: str = Field(description="the lot's time zone (IANA name); every time is given in it")
    count: int
    capacity: int | None = Field(default=None, description="the lot's spaces (API_LOT_SPACES); None: unset")
    free: int | None = Field(
        default=None, description="spaces free at `at`: capacity less count (overstays occupy none here)"
    )
    vehicles: list[ParkedVehicle]
    overstays: list[ParkedVehicle] = Field(
        default=[],
        description="entered longer than API_MAX_STAY_HOURS ago (within a month) and not seen since: "
        "an overstay or a missed exit; not in count",
    )


class StatsBucket(BaseModel):
    start: datetime
    entries: int
    exits: int
    avg_stay_s: float | None = Field(description="mean stay of visits that ended in this bucket")


class Stats(BaseModel):
    interval: Literal["hour", "day"]
    timezone: str
    buckets: list[StatsBucket]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    database: Literal["ok", "unavailable"]
    mqtt: Literal["connected", "disconnected", "off"]
    dead_letters: int | None = Field(
        default=None, description="events kept aside because they can never be stored (None: database down)"
    )


class DeadLetterPublic(BaseModel):
    """An event that could not be stored; kept whole (GET /api/v1/dead-letters/{event_id})."""

    event_id: uuid.UUID
    type: EventType
    plate: str
    camera: str
    reason: str = Field(description="why it could not be stored")
    size: int = Field(description="bytes of the event as JSON")
    received_at: datetime


class SessionInfo(BaseModel):
    client: str
    expires_at: datetime


# -- plate lists, alerts and webhooks ----------------------------------------------------------------------
ListKind = Literal["deny", "watch", "allow", "member", "staff"]


class PlateListCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ListKind
    plate: str = Field(min_length=1, max_length=16, description="any case/separators")
    note: str = Field(default="", max_length=500)
    expires_at: QueryTime | None = Field(
        default=None, description="no offset = lot's local time; unset: never"
    )


class PlateListUpdate(BaseModel):
    """Only the fields sent change; `expires_at: null` removes the expiry."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, max_length=500)
    expires_at: QueryTime | None = None


class PlateListEntryPublic(BaseModel):
    id: uuid.UUID
    kind: ListKind
    plate: str
    note: str
    expires_at: datetime | None
    active: bool = Field(description="false once expired")
    created_by: str = Field(description="the client that added it")
    created_at: datetime


class AlertPublic(BaseModel):
    alert_id: uuid.UUID
    kind: AlertKind
    plate: str
    list_kind: Literal["deny", "watch"] | None
    event_id: uuid.UUID | None
    visit_key: uuid.UUID | None
    camera: str | None
    detail: str
    at: datetime


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2048, description="https:// (http:// only if allowed)")


class WebhookPublic(BaseModel):
    id: uuid.UUID
    url: str
    created_by: str
    created_at: datetime
    pending: int = Field(description="deliveries still to be made (retrying)")
    delivered: int
    failed: int = Field(description="deliveries given up after API_WEBHOOK_MAX_ATTEMPTS")


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="HMAC-SHA256 key of X-ANPR-Signature; shown this once only")


class AttemptPublic(BaseModel):
    at: datetime
    status_code: int | None = Field(description="the receiver's answer; null when none came")
    error: str | None


class DeliveryPublic(BaseModel):
    id: int
    alert_id: uuid.UUID
    state: Literal["pending", "delivered", "failed"]
    attempts: list[AttemptPublic]
    next_at: datetime | None = Field(description="next try (pending only)")
    delivered_at: datetime | None


class Ticket(BaseModel):
    """A visit's printable receipt: the visit, the tariff version applied, its fee and payment."""

    visit: VisitPublic
    tariff: TariffVersionPublic | None = Field(description="the version in effect at entry; None: none was")
    timezone: str = Field(description="the lot's time zone (IANA name); every time is given in it")


# -- audit log (audit team) ---------------------------------------------------------------------------------
class AuditEntryPublic(BaseModel):
    """One audit log entry (GET /api/v1/audit), its sealed parts opened."""

    seq: int = Field(description="position in the hash chain, from 1")
    at: datetime
    actor: str | None = Field(description="the client (or `cli`) that acted; none for an unknown login")
    action: str
    subject: str | None
    before: dict | None
    after: dict | None
    redacted: bool = Field(
        default=False, description="before / after dropped by retention (they may have held a plate)"
    )


# -- corrections ------------------------------------------------------------------------------------------


class PlateCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plate: str = Field(min_length=1, max_length=16, description="the right plate, any case/separators")


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voided: bool = Field(default=True, description="false restores a voided event")


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visit_keys: list[uuid.UUID] = Field(
        min_length=2,
        max_length=2,
        description="a visit without exit and one without entry (each: its entry's event id, or its "
        "exit's when it has no entry)",
    )


class CorrectionPublic(BaseModel):
    """An event's state after a correction; the event as read stays stored beside it."""

    event_id: uuid.UUID
    plate: str | None = Field(description="the corrected plate (None: as read)")
    voided: bool
    split: bool = Field(description="this exit pairs with no entry")
    corrected_at: datetime

"""Every message on the bus: one typed, versioned, frozen model per topic kind.

Topics are built by `topic()` only. Binary payloads (JPEG) are raw `bytes` in Python and base64
strings in JSON, so every message is validated by one parser and readable with any MQTT tool.

Frames and vehicle crops stay on the edge broker; only `events` (with one small snapshot) travel
to the records service.
"""

from __future__ import annotations

import enum
import numbers
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

SCHEMA_VERSION: Literal[1] = 1
DEFAULT_PREFIX = "anpr/v1"

CameraId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]

#: Every time on the bus lies in [TIME_MIN, TIME_MAX): far enough from datetime's own limits that
#: adding a window or converting to any time zone cannot overflow, and storable by every database.
TIME_MIN = datetime(1970, 1, 1, tzinfo=timezone.utc)
TIME_MAX = datetime(2100, 1, 1, tzinfo=timezone.utc)
#: The records service stores `read_count` in a signed 32-bit column.
INT32_MAX = 2**31 - 1
#: JPEG cannot declare a side longer than this, so no box in an image can be bigger either.
PIXELS_MAX = 65535


def _utc_in_range(value: datetime) -> datetime:
    # Compared before converting: converting year 1 at +01:00 to UTC would itself overflow.
    if not TIME_MIN <= value < TIME_MAX:
        raise ValueError(f"time must be from {TIME_MIN:%Y-%m-%d} to before {TIME_MAX:%Y-%m-%d} (UTC)")
    return value.astimezone(timezone.utc)


def _number_only(value: Any) -> Any:
    # Lax mode would take `false` as 0.0 and "0.5" as 0.5: a confidence is a number or invalid.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError("must be a number")
    return value


#: A time with a zone, within the bounds above, normalised to UTC.
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc_in_range)]
Confidence = Annotated[float, BeforeValidator(_number_only), Field(ge=0.0, le=1.0)]
Pixels = Annotated[int, Field(ge=0, le=PIXELS_MAX)]
Side = Annotated[int, Field(gt=0, le=PIXELS_MAX)]
SNAPSHOT_MAX_BYTES = 1 << 20  # an event's snapshot; far below MariaDB's max_allowed_packet (16 MiB)


class Kind(str, enum.Enum):
    """Sub-topics. `frames`, `vehicles` and `reads` are per camera; the rest are global."""

    FRAMES = "frames"
    VEHICLES = "vehicles"
    READS = "reads"
    EVENTS = "events"
    STATUS = "status"
    ACKS = "acks"
    ALERTS = "alerts"


def topic(prefix: str, kind: Kind, name: str | None = None) -> str:
    """The one place topic names are made. `name` is a camera id, a service name, or '+' / '#'."""
    per_name = kind in (Kind.FRAMES, Kind.VEHICLES, Kind.READS, Kind.STATUS)
    if per_name and name is None:
        raise ValueError(f"topic kind {kind.value!r} needs a camera or service name")
    if not per_name and name is not None:
        raise ValueError(f"topic kind {kind.value!r} takes no name")
    base = f"{prefix.rstrip('/')}/{kind.value}"
    return f"{base}/{name}" if name is not None else base


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# Raw bytes in Python, base64 in JSON (pydantic's Base64Bytes would instead decode raw bytes given to
# the constructor, silently turning a JPEG into garbage).
_STRICT = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")


class Message(BaseModel):
    model_config = _STRICT

    schema_version: Literal[1] = SCHEMA_VERSION


class Box(BaseModel):
    """Pixel box, top-left corner plus size, in the coordinates of the image it refers to."""

    model_config = _STRICT

    x: Pixels
    y: Pixels
    w: Side
    h: Side

    @property
    def xyxy(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.x + self.w, self.y + self.h

    def iou(self, other: Box) -> float:
        """Intersection over union of the two boxes (0 when they do not meet)."""
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0

    def offset(self, dx: int, dy: int) -> Box:
        return Box(x=self.x + dx, y=self.y + dy, w=self.w, h=self.h)


class FrameMessage(Message):
    """capture → detector. One JPEG frame with where and when it was taken."""

    camera: CameraId
    seq: int = Field(ge=0, description="frame sequence number, from 0, per capture run")
    captured_at: Timestamp = Field(description="UTC; from the source's clock, or start + position for files")
    width: Side
    height: Side
    jpeg: bytes
    end_of_stream: bool = False


class VehicleClass(str, enum.Enum):
    CAR = "car"
    TRUCK = "truck"
    BUS = "bus"
    MOTORCYCLE = "motorcycle"


class VehicleCrop(BaseModel):
    model_config = _STRICT

    vehicle_class: VehicleClass
    confidence: Confidence
    track_id: int | None = Field(default=None, description="tracker id; stable while the vehicle is in view")
    box: Box = Field(description="the vehicle in frame coordinates")
    crop_box: Box = Field(description="the padded region the JPEG holds, in frame coordinates")
    jpeg: bytes


class VehiclesMessage(Message):
    """detector → ocr. Every processed frame gets one, possibly with no vehicles, so that consumers
    downstream see the clock move on."""

    camera: CameraId
    seq: int = Field(ge=0)
    captured_at: Timestamp
    width: Side
    height: Side
    vehicles: tuple[VehicleCrop, ...] = ()
    end_of_stream: bool = False


#: The OCR keeps at most 20 candidates per read (OCR_TOP_N); more is not a read but a flood.
CANDIDATES_MAX = 32


class Candidate(BaseModel):
    model_config = _STRICT

    text: str = Field(min_length=1, max_length=16)
    confidence: Confidence


class PlateRead(BaseModel):
    model_config = _STRICT

    text: str = Field(min_length=1, max_length=16, description="as the engine read it")
    normalized: str = Field(pattern=r"^[A-Z0-9]{1,12}$", description="A-Z0-9 only, format rules applied")
    confidence: Confidence
    candidates: tuple[Candidate, ...] = Field(
        default=(), max_length=CANDIDATES_MAX, description="top-N, best first"
    )
    plate_box: Box | None = Field(default=None, description="in frame coordinates")
    vehicle_box: Box
    vehicle_class: VehicleClass
    track_id: int | None = None
    engine: str = Field(min_length=1, max_length=32)
    captured_at: Timestamp
    snapshot_jpeg: bytes | None = Field(default=None, description="small JPEG of the vehicle")


class ReadsMessage(Message):
    """ocr → aggregator. One per processed frame, possibly with no reads (the clock still moves)."""

    camera: CameraId
    seq: int = Field(ge=0)
    captured_at: Timestamp
    reads: tuple[PlateRead, ...] = ()
    end_of_stream: bool = False


class EventType(str, enum.Enum):
    ENTRY = "entry"
    EXIT = "exit"


class EventMessage(Message):
    """aggregator → records service. One per sighting; redelivery is harmless (keyed by `event_id`)."""

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: EventType
    plate: str = Field(pattern=r"^[A-Z0-9]{1,12}$", description="normalised plate")
    confidence: Confidence = Field(description="confidence of the best read of the sighting")
    camera: CameraId
    time: Timestamp = Field(description="capture time of the best read")
    first_seen: Timestamp
    last_seen: Timestamp
    vehicle_class: VehicleClass
    read_count: int = Field(ge=1, le=INT32_MAX)
    candidates: tuple[Candidate, ...] = Field(default=(), max_length=CANDIDATES_MAX)
    snapshot_jpeg: bytes | None = Field(default=None, max_length=SNAPSHOT_MAX_BYTES)

    @model_validator(mode="after")
    def _time_within_sighting(self) -> EventMessage:
        if not self.first_seen <= self.time <= self.last_seen:
            raise ValueError("times must satisfy first_seen <= time <= last_seen")
        return self


class ServiceState(str, enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"


class StatusMessage(Message):
    """Retained per service; the broker publishes OFFLINE as the last will."""

    service: str = Field(min_length=1, max_length=64)
    state: ServiceState
    at: Timestamp = Field(default_factory=utcnow)
    detail: str = Field(default="", max_length=1024)


M = TypeVar("M", bound=Message)


class BadMessage(ValueError):
    """A payload that is not a valid message of the expected kind."""


def decode(model: type[M], payload: bytes | str) -> M:
    """Parse and validate a payload; raise BadMessage (never anything else) when it is not valid."""
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise BadMessage(
            f"invalid {model.__name__}: {exc.error_count()} error(s): {_first_error(exc)}"
        ) from exc
    except (ValueError, UnicodeDecodeError) as exc:  # pragma: no cover - pydantic wraps most of these
        raise BadMessage(f"invalid {model.__name__}: {exc}") from exc


def encode(message: Message) -> bytes:
    return message.model_dump_json().encode()


def _first_error(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or "<root>"
    return f"{loc}: {err.get('msg', '')}"


#: Which model each kind carries; the bus uses it to validate on receive.
MODEL_OF: dict[Kind, type[Message]] = {
    Kind.FRAMES: FrameMessage,
    Kind.VEHICLES: VehiclesMessage,
    Kind.READS: ReadsMessage,
    Kind.EVENTS: EventMessage,
    Kind.STATUS: StatusMessage,
}


class AckOutcome(str, enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # stored before (a redelivery)
    DEAD_LETTER = "dead_letter"  # can never be stored; kept aside by the records service


class AckMessage(Message):
    """records service → aggregator: the event is in the records service's custody; the aggregator may
    drop it from its outbox. Sent for every delivery, redeliveries included."""

    event_id: uuid.UUID
    outcome: AckOutcome
    at: AwareDatetime = Field(default_factory=utcnow)


MODEL_OF[Kind.ACKS] = AckMessage


class AlertKind(str, enum.Enum):
    LISTED = "listed"  # a plate on the deny or watch list was seen
    OVERSTAY = "overstay"  # parked longer than the owner's limit
    UNKNOWN_MEMBERS_ONLY = "unknown_members_only"  # not on allow/member/staff, while the lot is members-only
    LEFT_UNPAID = "left_unpaid"  # left without paying (raised by the fee engine)


class AlertMessage(Message):
    """records service → anyone watching (QoS 1): something the owner asked to be told about. The same
    JSON is POSTed to the owner's webhooks. `visit_key` is the event_id of the visit's entry event (of
    its exit when it has none); `list_kind` the list that matched (LISTED only)."""

    alert_id: uuid.UUID
    kind: AlertKind
    plate: str = Field(pattern=r"^[A-Z0-9]{1,12}$", description="normalised plate, as read")
    list_kind: Literal["deny", "watch"] | None = None
    event_id: uuid.UUID | None = Field(default=None, description="the event that raised it")
    visit_key: uuid.UUID | None = None
    camera: CameraId | None = None
    at: Timestamp = Field(description="when the alert was raised")
    detail: str = Field(default="", max_length=255)


MODEL_OF[Kind.ALERTS] = AlertMessage

"""Settings of the aggregator (`AGGREGATOR_*`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from anpr.messages import SNAPSHOT_MAX_BYTES
from anpr.settings import ServiceSettings, settings_config

CameraRole = Literal["entry", "exit", "both"]


class AggregatorSettings(ServiceSettings):
    model_config = settings_config("AGGREGATOR_")

    window_s: float = Field(
        default=30.0, gt=0, le=3600, description="reads of a plate less than this apart are one sighting"
    )
    state_file: Path = Field(default=Path("state/aggregator.json"), description="who is inside")
    save_every_s: float = Field(
        default=0.0,
        ge=0.0,
        le=300.0,
        description="0: every change a read makes is saved (a crash changes no event); >0 (an SD card): "
        "further reads of a saved sighting are saved at most this often, so a crash may lose them",
    )
    max_errors: int = Field(default=1, ge=0, le=3, description="OCR errors tolerated within one plate")
    track_max_errors: int = Field(
        default=3, ge=0, le=12, description="errors tolerated when the detector's track id says one vehicle"
    )
    min_read_confidence: float = Field(default=0.0, ge=0.0, le=1.0, description="reads below are ignored")
    fuse_candidates: bool = Field(
        default=True, description="a read's candidates vote for a sighting's plate with their probabilities"
    )
    cameras: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="comma-separated camera ids to aggregate; empty: every camera"
    )
    snapshot_max_bytes: int = Field(
        default=65536,
        ge=0,
        le=SNAPSHOT_MAX_BYTES,
        description="larger snapshots are left out of the event (0: never send one)",
    )
    max_ahead_s: float = Field(
        default=86400.0, gt=0, description="frames stamped further ahead of this machine's clock are refused"
    )
    max_age_days: float = Field(
        default=3650.0, gt=0, description="frames stamped longer before this machine's clock are refused"
    )
    publish_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="in-process runs: wait for the bus to take an event"
    )
    outbox_file: Path | None = Field(
        default=None,
        description="events not yet acknowledged by the records service; default: beside state_file",
    )
    ack_timeout_s: float = Field(
        default=120.0,
        gt=0,
        le=86400,
        description="records service online but silent this long: what it was sent this long ago goes out again",
    )
    outbox_rate: float = Field(
        default=50.0, gt=0, le=10_000, description="events published per second at most"
    )

    camera_roles: Annotated[dict[str, CameraRole], NoDecode] = Field(
        default_factory=dict,
        description="camera=role pairs, comma-separated, role entry|exit|both; unnamed cameras: both",
    )

    @property
    def outbox_path(self) -> Path:
        return self.outbox_file or self.state_file.with_suffix(".outbox.sqlite")

    @field_validator("cameras", mode="before")
    @classmethod
    def _split_cameras(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(c.strip() for c in value.split(",") if c.strip())
        return value

    @field_validator("camera_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: Any) -> Any:
        """ "gate-in=entry,gate-out=exit" -> {"gate-in": "entry", "gate-out": "exit"}."""
        if not isinstance(value, str):
            return value
        roles: dict[str, str] = {}
        for pair in filter(None, (p.strip() for p in value.split(","))):
            camera, sep, role = (part.strip() for part in pair.partition("="))
            if not sep or not camera:
                raise ValueError(f"{pair!r} is not camera=role (e.g. gate-in=entry,gate-out=exit)")
            if camera in roles:
                raise ValueError(f"camera {camera!r} is given a role twice")
            roles[camera] = role
        return roles

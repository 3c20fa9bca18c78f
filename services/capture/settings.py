"""Settings of the capture service, `CAPTURE_*`."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from anpr.messages import CameraId, Timestamp
from anpr.settings import ServiceSettings, settings_config
from services.capture.sources import SourceKind, parse_source

Pace = Literal["realtime", "fast"]


class CaptureSettings(ServiceSettings):
    model_config = settings_config("CAPTURE_")

    source: str = Field(
        min_length=1,
        description="video file; rtsp:// or http(s):// URL; USB `0` or `/dev/video0`; Jetson CSI `csi://0`",
    )
    camera_id: CameraId = "gate"
    max_fps: float | None = Field(
        default=None, gt=0, le=240, description="frame-rate cap; frames are skipped"
    )
    resize_width: int | None = Field(default=None, ge=16, le=7680, description="output width, aspect kept")
    jpeg_quality: int = Field(default=85, ge=10, le=100)
    pace: Pace = Field(
        default="fast",
        description="files only: `realtime` plays at the file's rate, `fast` as fast as downstream keeps up",
    )
    start_time: Timestamp | None = Field(
        default=None,
        description="files only: time of the first frame (default: the file's modification time, UTC)",
    )
    max_in_flight: int = Field(default=4, ge=1, le=1000, description="frames published but not yet answered")
    ack_timeout_s: float = Field(default=30.0, gt=0, description="give up waiting on a silent downstream")
    reconnect_initial_s: float = Field(default=1.0, gt=0, le=3600)
    reconnect_max_s: float = Field(default=30.0, gt=0, le=3600)
    open_timeout_s: float = Field(default=10.0, gt=0, le=300, description="streams: open/read time-out")
    csi_width: int = Field(default=1920, ge=16, le=7680, description="CSI sensor mode")
    csi_height: int = Field(default=1080, ge=16, le=4320)
    csi_fps: int = Field(default=30, ge=1, le=240)
    csi_flip: int = Field(default=0, ge=0, le=7, description="nvvidconv flip-method")

    @model_validator(mode="after")
    def _check_source(self) -> CaptureSettings:
        source = parse_source(self.source)  # raises ValueError with the reason
        if source.kind is SourceKind.FILE and not Path(str(source.target)).is_file():
            raise ValueError(f"CAPTURE_SOURCE: video file {source.target} does not exist")
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError("CAPTURE_RECONNECT_MAX_S must be at least CAPTURE_RECONNECT_INITIAL_S")
        return self

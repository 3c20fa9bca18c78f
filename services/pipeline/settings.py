"""Settings of the all-in-one run (`PIPELINE_*`); each stage still reads its own settings class."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from anpr.settings import ServiceSettings, settings_config


class PipelineSettings(ServiceSettings):
    model_config = settings_config("PIPELINE_")

    output_dir: Path = Path("output")
    show: bool = Field(default=False, description="show an OpenCV window while running")
    write_video: bool = True
    video_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = Field(
        default="ultrafast",
        description="x264 preset of the annotated video: ultrafast costs about half of superfast's CPU per 720p "
        "frame (7 against 15 ms measured here) for files ~1.7x larger",
    )
    forward_events: bool = Field(default=False, description="also publish events to the MQTT broker (MQTT_*)")
    event_banner_s: float = Field(default=3.0, ge=0, description="how long an event mark stays in the video")
    overlap: bool = Field(
        default=True,
        description="detector, OCR, aggregator and recorder each on a thread of their own, so stages overlap "
        "(off with show: the window draws each frame as soon as every stage is done with it)",
    )
    queue_depth: int = Field(default=4, ge=1, le=64, description="messages waiting for a stage, at most")

"""Detector settings, `DETECTOR_*`."""

from __future__ import annotations

from pydantic import Field

from anpr.models import Hub, ModelNeed, looks_local
from anpr.settings import ServiceSettings, settings_config


class DetectorSettings(ServiceSettings):
    model_config = settings_config("DETECTOR_")

    model: str = Field(
        default="yolo11n.pt",
        description="Ultralytics model: a local file (.pt, .onnx, .engine, .tflite, ...) or an Ultralytics model "
        "name, which Ultralytics downloads on first use where there is internet",
    )
    imgsz: int = Field(default=640, ge=32, le=4096, description="inference size in pixels (multiple of 32)")
    confidence: float = Field(
        default=0.25, gt=0.0, le=1.0, description="minimum score of a published vehicle"
    )
    device: str | None = Field(
        default=None, description="'cpu', '0' (first GPU), ...; default: Ultralytics picks"
    )
    tracker: str = Field(default="bytetrack.yaml", description="Ultralytics tracker config (name or path)")
    crop_padding: float = Field(
        default=0.1, ge=0.0, le=1.0, description="crop margin, as a fraction of the box"
    )
    min_box_px: int = Field(default=48, ge=1, description="vehicles narrower or lower than this are ignored")
    crop_jpeg_quality: int = Field(default=90, ge=10, le=100)
    max_frame_pixels: int = Field(
        default=7680 * 4320,
        ge=1,
        description="frames whose JPEG header declares more pixels (default: 8K) are not decoded",
    )

    def model_needs(self) -> list[ModelNeed]:
        return [model_need(self.model)]


def model_need(model: str) -> ModelNeed:
    hub = None if looks_local(model) else Hub.ULTRALYTICS
    return ModelNeed(
        "vehicle detector", "DETECTOR_MODEL", model, hub, "a local model file (.pt, .onnx, .tflite, ...)"
    )

"""Detector settings, `DETECTOR_*`."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

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
    threads: int = Field(
        default=0,
        ge=0,
        le=64,
        description="CPU threads of a .tflite model's inference; 0: every core (Ultralytics' own choice "
        "is one core less than the machine has)",
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

    motion_gate: bool = Field(
        default=True,
        description="run the detector only on frames where something moved (and every idle_detect_s)",
    )
    motion_width: int = Field(
        default=160, ge=16, le=1280, description="width of the motion gate's small image"
    )
    motion_threshold: int = Field(
        default=20, ge=1, le=255, description="grey-level change that counts as motion"
    )
    motion_min_area: float = Field(
        default=0.002, gt=0.0, le=1.0, description="fraction of the image (or region) that must change"
    )
    motion_hold_s: float = Field(
        default=0.5, ge=0.0, le=60.0, description="after motion, keep detecting this long (capture time)"
    )
    idle_detect_s: float = Field(
        default=1.0, gt=0.0, le=60.0, description="without motion, still detect this often (capture time)"
    )
    detect_every_s: float = Field(
        default=0.0,
        ge=0.0,
        le=10.0,
        description="detect at most once per this much capture time per camera (e.g. 0.2: 5 frames/s); the "
        "frames between get no detection, and the tracker waits for the next; 0: every frame",
    )
    roi: Annotated[tuple[tuple[float, float], ...] | None, NoDecode] = Field(
        default=None,
        description="region of interest, a polygon in fractions of the frame: "
        "'x,y x,y x,y ...' (e.g. '0,0.3 1,0.3 1,1 0,1', the lower 70%); only it is watched and detected",
    )

    read_every_s: float = Field(
        default=0.0,
        ge=0.0,
        le=60.0,
        description="a tracked vehicle goes to the plate reader this often (capture time), and whenever its box "
        "grew by read_growth; 0 (default): on every frame until the OCR has a confident read",
    )
    read_growth: float = Field(
        default=0.15, ge=0.0, le=10.0, description="box growth that earns an extra read"
    )

    @field_validator("roi", mode="before")
    @classmethod
    def _polygon(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        try:
            points = tuple(tuple(float(v) for v in p.split(",")) for p in value.split())
        except ValueError:
            raise ValueError(f"{value!r}: give points 'x,y x,y x,y' as fractions of the frame") from None
        if len(points) < 3 or any(len(p) != 2 or not (0 <= p[0] <= 1 and 0 <= p[1] <= 1) for p in points):
            raise ValueError(f"{value!r}: give at least 3 points 'x,y', each between 0 and 1")
        return points

    #: settings that change nothing when every frame is detected and read (see every_frame)
    SHORTCUTS: ClassVar[frozenset[str]] = frozenset(
        {
            "motion_gate",
            "motion_width",
            "motion_threshold",
            "motion_min_area",
            "motion_hold_s",
            "idle_detect_s",
            "detect_every_s",
        }
        | {"roi", "read_every_s", "read_growth"}
    )

    @staticmethod
    def every_frame() -> dict[str, object]:
        """The overrides that make the detector look at every whole frame and send every vehicle on to
        be read (the benchmark's reference)."""
        return {"motion_gate": False, "roi": None, "read_every_s": 0.0, "detect_every_s": 0.0}

    def model_needs(self) -> list[ModelNeed]:
        return [model_need(self.model)]


def model_need(model: str) -> ModelNeed:
    hub = None if looks_local(model) else Hub.ULTRALYTICS
    return ModelNeed(
        "vehicle detector", "DETECTOR_MODEL", model, hub, "a local model file (.pt, .onnx, .tflite, ...)"
    )

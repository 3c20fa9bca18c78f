"""The gate-camera footage and its expected events, and the models a run needs."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

GATE_START = datetime(2026, 11, 24, 14, 0, 0, tzinfo=timezone.utc)
GATE_MAX_FPS = 5.0


def model_env(data: Path) -> dict[str, str]:
    """The models a user of this machine gets from run.sh, plus state kept out of the work tree."""
    models = data / "models"
    return {
        "DETECTOR_MODEL": str(models / "fallback" / "yolo11n_int8.tflite"),
        "OCR_LOCALISER_MODEL": str(models / "plates" / "openalpr_us" / "us.xml"),
        "OCR_READER_MODEL": str(models / "peers" / "fast_plate_ocr" / "cct_xs_v1_global.onnx"),
        "ANPR_ENV_FILE": "/nonexistent/.env",
        "ANPR_ENVIRONMENT": "development",
        "ANPR_TIMEZONE": "America/Chicago",
    }


@dataclass(frozen=True)
class Expected:
    plate: str
    event: str
    first: datetime
    last: datetime


def expected_gate_events(data: Path, start: datetime = GATE_START) -> list[Expected]:
    with open(data / "videos" / "us_gate_sequence.csv") as fh:
        return [
            Expected(
                r["plate"],
                r["event"],
                start + timedelta(seconds=float(r["first_seen_s"])),
                start + timedelta(seconds=float(r["last_seen_s"])),
            )
            for r in csv.DictReader(fh)
        ]

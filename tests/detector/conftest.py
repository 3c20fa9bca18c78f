"""The real detector model (YOLO11n INT8 TFLite through ai-edge-litert) and helpers to make frames."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings


@pytest.fixture(scope="session")
def tflite_model(data_dir: Path) -> Path:
    return data_dir / "models" / "fallback" / "yolo11n_int8.tflite"


@pytest.fixture(scope="session")
def detector_settings(tflite_model: Path) -> DetectorSettings:
    # Detection and tracking on every frame given; the gate and the read budget have their own tests.
    return DetectorSettings(model=str(tflite_model), device="cpu", **DetectorSettings.every_frame())


@pytest.fixture(scope="session")
def detector(detector_settings: DetectorSettings) -> VehicleDetector:
    return VehicleDetector(detector_settings)


@pytest.fixture(scope="session")
def bus_jpg() -> Path:
    import ultralytics

    return Path(ultralytics.__file__).parent / "assets" / "bus.jpg"

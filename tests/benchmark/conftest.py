"""The benchmark runs the product's path, configured from the environment like the services."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def product_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    models = data_dir / "models"
    monkeypatch.setenv("OCR_LOCALISER_MODEL", str(models / "plates" / "openalpr_us" / "us.xml"))
    monkeypatch.setenv("OCR_READER_MODEL", str(models / "peers" / "fast_plate_ocr" / "cct_xs_v1_global.onnx"))
    monkeypatch.setenv("DETECTOR_MODEL", str(models / "fallback" / "yolo11n_int8.tflite"))

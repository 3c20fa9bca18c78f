"""The real OCR models: OpenALPR's US plate cascade and fast-plate-ocr's CCT-XS ONNX model."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.ocr.onnx_engine import OnnxEngine
from services.ocr.settings import OcrSettings


@pytest.fixture(scope="session")
def ocr_settings(data_dir: Path) -> OcrSettings:
    models = data_dir / "models"
    return OcrSettings(
        engine="onnx",
        localiser="cascade",
        localiser_model=str(models / "plates" / "openalpr_us" / "us.xml"),
        reader_model=str(models / "peers" / "fast_plate_ocr" / "cct_xs_v1_global.onnx"),
    )


@pytest.fixture(scope="session")
def engine(ocr_settings: OcrSettings) -> OnnxEngine:
    return OnnxEngine(ocr_settings)

"""The real OCR models: OpenALPR's US plate cascade and fast-plate-ocr's CCT-XS ONNX model."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from anpr.messages import Box, VehicleClass, VehicleCrop, VehiclesMessage
from services.ocr.onnx_engine import OnnxEngine
from services.ocr.settings import OcrSettings
from tests.ocr.helpers import T0, benchmark_photos


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


@pytest.fixture(scope="session")
def car_vehicles(data_dir: Path) -> VehiclesMessage:
    """A vehicle crop the way the detector makes one: the labelled car region, padded, as JPEG."""
    photo = next(p for p in benchmark_photos(data_dir) if p.plate == "AKS4329")
    image = cv2.imread(str(photo.image))
    h, w = image.shape[:2]
    p = photo.plate_box
    crop_box = Box(
        x=max(0, p.x - 4 * p.w),
        y=max(0, p.y - 5 * p.h),
        w=min(w, p.x + 5 * p.w) - max(0, p.x - 4 * p.w),
        h=min(h, p.y + 3 * p.h) - max(0, p.y - 5 * p.h),
    )
    crop = image[crop_box.y : crop_box.y + crop_box.h, crop_box.x : crop_box.x + crop_box.w]
    vehicle = VehicleCrop(
        vehicle_class=VehicleClass.CAR,
        confidence=0.9,
        track_id=3,
        box=crop_box,
        crop_box=crop_box,
        jpeg=cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(),
    )
    return VehiclesMessage(camera="lane-1", seq=8, captured_at=T0, width=w, height=h, vehicles=(vehicle,))

"""Plates of another layout read whole: the Vietnamese two-row plates of parkpow_cars.mp4 through the
whole pipeline, with the YOLO plate model beside the US cascade."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from services.ocr.settings import OcrSettings
from services.pipeline.run import Stages, run
from services.pipeline.settings import PipelineSettings
from tests.pipeline.gate_data import model_env

pytestmark = pytest.mark.slow  # a real video through the real models


def test_parkpow_two_row_plates_are_read_whole(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for k, v in model_env(data_dir).items():
        monkeypatch.setenv(k, v)
    yolo = data_dir / "models" / "plates" / "yolov8n_plate" / "plate_detector_model_1.pt"
    ocr = OcrSettings(second_localiser_model=str(yolo))
    stages = Stages(ocr=ocr, capture_overrides={"max_fps": 3.0})
    result = run(
        [str(data_dir / "videos" / "parkpow_cars.mp4")],
        PipelineSettings(output_dir=tmp_path, write_video=False),
        stages,
    )
    with open(result.output_dir / "detected_vehicles_and_plates.csv") as fh:
        plates = [r["plate_normalized"] for r in csv.DictReader(fh)]
    assert plates, "no plate read"
    # the plates are 8-9 characters (34A12345); the US cascade alone cut them to 5
    assert all(len(p) >= 8 for p in plates), plates

"""A plate the localiser finds but the reader cannot read yet is looked at again on the next frame."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from services.pipeline.run import run
from services.pipeline.settings import PipelineSettings

pytestmark = pytest.mark.usefixtures("models")


def test_a_number_readable_on_one_frame_only_is_read(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """parkpow's truck in the next lane, 34R01357 painted on it: no plate on most of its frames, so its
    looks are spaced out; the cascade finds the number on frame 50, unreadable, and it reads on frame 51
    only (the every-frame run's one read of it). The models are run.sh's."""
    models = data_dir / "models"
    monkeypatch.setenv(
        "OCR_SECOND_LOCALISER_MODEL", str(models / "plates" / "yolov8n_plate" / "plate_detector_model_1.pt")
    )
    monkeypatch.setenv(
        "OCR_SECOND_READER_MODEL", str(models / "peers" / "fast_plate_ocr" / "cct_xs_v2_global.onnx")
    )
    result = run(
        [str(data_dir / "videos" / "parkpow_cars.mp4")],
        PipelineSettings(output_dir=tmp_path / "out", write_video=False),
        start_time=datetime(2026, 11, 24, 14, tzinfo=timezone.utc),
        on_frame=lambda frame, _total, _image: frame.seq < 60,
    )
    assert "34R01357" in [e.plate for e in result.events]

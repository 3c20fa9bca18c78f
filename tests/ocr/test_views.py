"""Reading a plate from several slightly moved views (services/ocr/views.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from services.ocr.onnx_engine import OnnxEngine
from services.ocr.settings import OcrSettings
from services.ocr.views import VIEWS, mean_of_views, views_of


def test_the_first_view_is_the_plate_and_the_others_move_it() -> None:
    plate = np.random.default_rng(0).integers(0, 256, (40, 120, 3), dtype=np.uint8)
    views = views_of(plate, len(VIEWS))
    assert len(views) == len(VIEWS)
    assert views[0] is plate
    assert all(v.shape == plate.shape and v.dtype == plate.dtype for v in views)
    assert all(not np.array_equal(v, plate) for v in views[1:])
    assert len(views_of(plate, 1)) == 1


def test_views_of_a_plate_are_averaged_together_not_with_the_next_plate() -> None:
    probs = np.zeros((6, 2, 3))
    probs[:3, :, 0] = 1.0  # plate 1, three views: symbol 0
    probs[3:5, :, 1] = 1.0  # plate 2: two views say symbol 1, one says symbol 2
    probs[5, :, 2] = 1.0
    mean = mean_of_views(probs, 3)
    assert mean.shape == (2, 2, 3)
    np.testing.assert_allclose(mean[0, 0], [1, 0, 0])
    np.testing.assert_allclose(mean[1, 1], [0, 2 / 3, 1 / 3])


@pytest.mark.parametrize("views", [0, len(VIEWS) + 1])
def test_a_view_count_out_of_range_is_refused(views: int) -> None:
    with pytest.raises(ValidationError, match="views"):
        OcrSettings(views=views)


@pytest.mark.parametrize(
    ("crop", "plate", "single"),
    [
        ("md1107.png", "7BPD06", "7BP006"),  # the single read is sure (0.99) of a 0 where the plate has a D
        ("nc1655.png", "EXN2894", "EXN2094"),
    ],
)
def test_views_correct_a_confident_single_misread(
    ocr_settings: OcrSettings, data_dir: Path, crop: str, plate: str, single: str
) -> None:
    image = cv2.imread(str(data_dir / "openalpr_seg_and_ocr" / "us" / crop))
    once = OnnxEngine(ocr_settings.model_copy(update={"views": 1})).read_plate(image)
    assert once is not None and once.text == single
    assert OnnxEngine(ocr_settings).read_plate(image).text == plate

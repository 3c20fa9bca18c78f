"""The OpenALPR engine: libopenalpr is not installable here, so its start-up error and the mapping of
its results (the binding's documented JSON shape) are what can be tested."""

from __future__ import annotations

import importlib.util

import pytest

from anpr.messages import Box
from anpr.plates import parse_formats
from services.ocr.engine import EngineUnavailable, build_engine
from services.ocr.openalpr_engine import plate_from_results
from services.ocr.settings import OcrSettings

TEXAS = parse_formats("AAA-0000")


def _openalpr_works() -> bool:
    if importlib.util.find_spec("openalpr") is None:
        return False
    try:
        from openalpr import Alpr

        return Alpr("us", "/etc/openalpr/openalpr.conf", "/usr/share/openalpr/runtime_data").is_loaded()
    except OSError:
        return False


@pytest.mark.skipif(_openalpr_works(), reason="OpenALPR is installed and loads on this machine")
def test_missing_openalpr_is_a_start_up_error_naming_what_to_install() -> None:
    with pytest.raises(EngineUnavailable) as err:
        build_engine(OcrSettings(engine="openalpr"))
    text = str(err.value)
    for needed in (
        "libopenalpr2",
        "python3-openalpr",
        "pip install openalpr",
        "github.com/openalpr/openalpr",
        "OCR_ENGINE=onnx",
    ):
        assert needed in text


def _result(
    plate: str, confidence: float, candidates: list[tuple[str, float]], x: int = 100, y: int = 80
) -> dict:
    """One entry of `results` as the binding returns it (alpr_results version 2)."""
    return {
        "plate": plate,
        "confidence": confidence,
        "matches_template": 1,
        "plate_index": 0,
        "region": "tx",
        "region_confidence": 0,
        "processing_time_ms": 21.4,
        "requested_topn": 5,
        "coordinates": [
            {"x": x, "y": y},
            {"x": x + 120, "y": y + 2},
            {"x": x + 119, "y": y + 60},
            {"x": x - 1, "y": y + 58},
        ],
        "candidates": [{"plate": p, "confidence": c, "matches_template": 0} for p, c in candidates],
    }


def _results(*plates: dict) -> dict:
    return {
        "version": 2,
        "data_type": "alpr_results",
        "epoch_time": 1767600000000,
        "img_width": 640,
        "img_height": 480,
        "processing_time_ms": 80.1,
        "regions_of_interest": [],
        "results": list(plates),
    }


def test_results_map_to_our_read() -> None:
    res = _results(_result("CWW2245", 91.2, [("CWW2245", 91.2), ("CWW2Z45", 80.5), ("CVW2245", 70.0)]))
    read = plate_from_results(res, TEXAS, top_n=5)
    assert read is not None
    assert (read.raw, read.text) == ("CWW2245", "CWW2245")
    assert read.confidence == pytest.approx(0.912)
    assert read.candidates == (
        ("CWW2245", pytest.approx(0.912)),
        ("CWW2Z45", pytest.approx(0.805)),
        ("CVW2245", pytest.approx(0.70)),
    )
    assert read.box == Box(x=99, y=80, w=121, h=60)  # the corners' bounding box


def test_the_most_confident_plate_wins_and_top_n_applies() -> None:
    res = _results(
        _result("ABC1234", 60.0, [("ABC1234", 60.0)], x=10),
        _result("XYZ9876", 88.0, [("XYZ9876", 88.0), ("XYZ9B76", 50.0), ("XY29876", 40.0)], x=300),
    )
    read = plate_from_results(res, TEXAS, top_n=2)
    assert read is not None and read.text == "XYZ9876" and len(read.candidates) == 2
    assert read.box is not None and read.box.x == 299


def test_a_candidate_fitting_the_format_is_preferred_when_close() -> None:
    res = _results(_result("ABC12B4", 85.0, [("ABC12B4", 85.0), ("ABC1284", 80.0)]))
    read = plate_from_results(res, TEXAS, min_ratio=0.05)
    assert read is not None and read.raw == "ABC12B4" and read.text == "ABC1284"
    assert read.candidates[0] == ("ABC1284", pytest.approx(0.80))


def test_an_out_of_state_plate_stays_as_read() -> None:
    res = _results(_result("7ABC123", 92.0, [("7ABC123", 92.0), ("7A8C123", 60.0)]))
    read = plate_from_results(res, TEXAS)
    assert read is not None and read.text == "7ABC123"


@pytest.mark.parametrize("res", [_results(), {"results": None}, {}, _results(_result("--", 50.0, []))])
def test_no_plate_no_read(res: dict) -> None:
    assert plate_from_results(res, TEXAS) is None


def test_plate_text_is_normalised_and_confidence_kept_in_range() -> None:
    res = _results(_result("abc 1234", 140.0, [("abc 1234", 140.0)]))
    read = plate_from_results(res, TEXAS)
    assert read is not None and read.text == "ABC1234" and read.confidence == 1.0

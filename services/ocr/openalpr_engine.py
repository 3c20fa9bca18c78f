"""The OpenALPR engine, through the `openalpr` Python binding of libopenalpr (country us, region tx)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from anpr.messages import Box
from anpr.plates import PlateFormat, normalize, parse_formats
from services.ocr.engine import EngineUnavailable, PlateResult
from services.ocr.settings import OcrSettings

log = logging.getLogger("ocr")

# Where the distribution packages put them.
DEFAULT_CONFIG = Path("/etc/openalpr/openalpr.conf")
DEFAULT_RUNTIME_DATA = Path("/usr/share/openalpr/runtime_data")

INSTALL_HINT = (
    "OCR_ENGINE=openalpr needs libopenalpr and its Python binding `openalpr`. On Debian/Ubuntu releases that "
    "package it (e.g. Debian 11, Ubuntu 20.04/22.04): sudo apt-get install libopenalpr2 libopenalpr-data "
    "python3-openalpr (inside a virtualenv also: pip install openalpr). Elsewhere (Debian 12 has no package) "
    "build it from source: https://github.com/openalpr/openalpr (then pip install src/bindings/python). "
    "Or use OCR_ENGINE=onnx, which needs neither."
)


class OpenAlprEngine:
    name = "openalpr"

    def __init__(self, settings: OcrSettings) -> None:
        self.formats = parse_formats(settings.plate_formats)
        self.top_n = settings.top_n
        self.min_ratio = settings.format_min_ratio
        try:
            from openalpr import Alpr
        except ImportError as exc:
            raise EngineUnavailable(
                f"the openalpr Python binding is not installed ({exc}). {INSTALL_HINT}"
            ) from exc
        config = settings.openalpr_config or DEFAULT_CONFIG
        runtime = settings.openalpr_runtime_data or DEFAULT_RUNTIME_DATA
        try:
            alpr = Alpr(settings.openalpr_country, str(config), str(runtime))
        except OSError as exc:  # the binding raises OSError when libopenalpr(py).so cannot be loaded
            raise EngineUnavailable(f"libopenalpr could not be loaded ({exc}). {INSTALL_HINT}") from exc
        if not alpr.is_loaded():
            raise EngineUnavailable(
                f"OpenALPR did not load with config {config} and runtime data {runtime}; set OCR_OPENALPR_CONFIG "
                "and OCR_OPENALPR_RUNTIME_DATA to where your installation keeps them"
            )
        alpr.set_top_n(self.top_n)
        alpr.set_default_region(settings.openalpr_region)
        self._alpr: Any = alpr

    def read(self, crop: np.ndarray) -> PlateResult | None:
        ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            return None
        return plate_from_results(
            self._alpr.recognize_array(buf.tobytes()), self.formats, self.top_n, self.min_ratio
        )


def plate_from_results(
    results: dict[str, Any], formats: Sequence[PlateFormat], top_n: int = 5, min_ratio: float = 0.3
) -> PlateResult | None:
    """Our read from an OpenALPR results dict (the binding's JSON: `results[]` each with `plate`,
    `confidence` 0-100, `coordinates` [{x, y}] x4 and `candidates[]` of {plate, confidence}).
    The most confident plate wins; among its candidates, one that fits a format is preferred when it
    is at least `min_ratio` as confident as the top one (the same rule as the ONNX engine)."""
    plates = [p for p in results.get("results") or () if normalize(str(p.get("plate", "")))]
    if not plates:
        return None
    best = max(plates, key=lambda p: float(p.get("confidence", 0.0)))
    raw = normalize(str(best["plate"]))
    candidates: dict[str, float] = {}
    for c in best.get("candidates") or [{"plate": raw, "confidence": best.get("confidence", 0.0)}]:
        text = normalize(str(c.get("plate", "")))
        if text:
            candidates[text] = max(candidates.get(text, 0.0), _unit(c.get("confidence", 0.0)))
    candidates.setdefault(raw, _unit(best.get("confidence", 0.0)))
    ranked = sorted(candidates.items(), key=lambda c: -c[1])
    top_p = ranked[0][1]
    chosen = ranked[0]
    if not any(f.matches(chosen[0]) for f in formats):
        fitting = [c for c in ranked if any(f.matches(c[0]) for f in formats)]
        if fitting and fitting[0][1] >= min_ratio * top_p:
            chosen = fitting[0]
    ordered = (chosen, *(c for c in ranked if c[0] != chosen[0]))
    return PlateResult(_box(best.get("coordinates")), raw, chosen[0], chosen[1], tuple(ordered[:top_n]))


def _unit(confidence: Any) -> float:
    return min(1.0, max(0.0, float(confidence) / 100.0))


def _box(coordinates: Any) -> Box | None:
    try:
        xs = [int(p["x"]) for p in coordinates]
        ys = [int(p["y"]) for p in coordinates]
    except (TypeError, KeyError, ValueError):
        return None
    if not xs:
        return None
    x, y = max(0, min(xs)), max(0, min(ys))
    w, h = max(xs) - x, max(ys) - y
    return Box(x=x, y=y, w=w, h=h) if w > 0 and h > 0 else None

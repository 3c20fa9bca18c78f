"""What every OCR engine gives for one vehicle crop, and how the configured one is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from anpr.messages import Box
from anpr.service import StartupError
from services.ocr.settings import OcrSettings


class EngineUnavailable(StartupError):
    """The engine cannot start here (missing library, model or file); the message says what to do."""


@dataclass(frozen=True)
class PlateResult:
    """One plate read inside one vehicle crop."""

    box: Box | None  # the plate in crop coordinates, when the engine knows it
    raw: str  # the engine's own text, before format rules
    text: str  # the chosen read: A-Z0-9, format rules applied
    confidence: float  # 0..1
    candidates: tuple[tuple[str, float], ...]  # top-N (text, confidence), best first


class PlateEngine(Protocol):
    name: str

    def read(self, crop: np.ndarray) -> PlateResult | None:
        """The best plate read in a BGR vehicle crop, or None when no plate was found. An engine that
        found a plate but read nothing in it may say so with an empty text at confidence 0: the track
        is then looked at again on the next frame (memory.py)."""
        ...


def build_engine(settings: OcrSettings) -> PlateEngine:
    """The engine the settings ask for; EngineUnavailable with the fix when it cannot run here."""
    if settings.engine == "openalpr":
        from services.ocr.openalpr_engine import OpenAlprEngine

        return OpenAlprEngine(settings)
    from services.ocr.onnx_engine import OnnxEngine

    return OnnxEngine(settings)

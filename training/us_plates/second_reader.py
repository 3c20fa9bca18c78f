"""A second plate reader whose per-slot probabilities are blended with the main model's before decoding.

Two models trained apart make different mistakes; where the main model is confidently wrong on one
character (O for 0, M for W) the second can pull the slot back. The blend is a weighted geometric mean
per slot (a product of experts), renormalised, so the decoder downstream is unchanged.

The model (ONNX) takes uint8 grayscale plates [N, H, W, 1] and gives [N, slots, alphabet] probabilities
in the main model's slot layout and alphabet; training/us_plates trains one.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from services.ocr.engine import EngineUnavailable  # the product's error type, for a clear message


class SecondReader:
    def __init__(self, path: Path, slots: int, alphabet_size: int, threads: int = 0) -> None:
        import onnxruntime as ort

        if not path.is_file():
            raise EngineUnavailable(f"OCR_SECOND_READER_MODEL: {path} is not a file")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise EngineUnavailable(f"OCR_SECOND_READER_MODEL {path} could not be loaded: {exc}") from exc
        inp = self._session.get_inputs()[0]
        out = self._session.get_outputs()[0]
        self._input = inp.name
        _, self.height, self.width, channels = inp.shape
        if channels != 1 or tuple(out.shape[1:]) != (slots, alphabet_size):
            raise EngineUnavailable(
                f"OCR_SECOND_READER_MODEL {path}: expects [N, H, W, 1] grayscale in and [N, {slots}, "
                f"{alphabet_size}] out like the main model, has {inp.shape} -> {out.shape}"
            )

    def probabilities(self, plates: list[np.ndarray]) -> np.ndarray:
        """[N, slots, alphabet] for N BGR plate images (the same regions the main model reads)."""
        batch = np.stack([self._prepare(p) for p in plates])
        return self._session.run(None, {self._input: batch})[0]

    def _prepare(self, plate: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY) if plate.ndim == 3 else plate
        return cv2.resize(gray, (self.width, self.height), interpolation=cv2.INTER_AREA)[..., None]


def blend(main: np.ndarray, second: np.ndarray, main_weight: float) -> np.ndarray:
    """Per slot: main^w * second^(1-w), renormalised. w = 1 is the main model alone."""
    log = main_weight * np.log(np.maximum(main, 1e-9)) + (1.0 - main_weight) * np.log(
        np.maximum(second, 1e-9)
    )
    log -= log.max(axis=-1, keepdims=True)
    p = np.exp(log)
    return p / p.sum(axis=-1, keepdims=True)

"""Several slightly moved views of one plate, read together.

The OCR model is sure of itself even where one pixel row decides a character: a 0 becomes an O, a W an M.
Reading the plate again rotated by 2°, scaled by 5% or shifted by a few per cent and averaging the per-slot
probabilities keeps what every view agrees on and lets the doubt of the others show. The set of views was
chosen on the eu + br benchmark sets' labelled boxes (exact reads of 142: 1 view 132, these 9 views 134),
not on the US sets we report; docs/accuracy.md has the figures.
"""

from __future__ import annotations

import cv2
import numpy as np

# (rotation in degrees, scale, shift x as a share of the width, shift y as a share of the height)
VIEWS: tuple[tuple[float, float, float, float], ...] = (
    (0.0, 1.0, 0.0, 0.0),
    (2.0, 1.0, 0.0, 0.0),
    (-2.0, 1.0, 0.0, 0.0),
    (0.0, 0.95, 0.0, 0.0),
    (0.0, 1.05, 0.0, 0.0),
    (0.0, 1.0, 0.02, 0.0),
    (0.0, 1.0, -0.02, 0.0),
    (0.0, 1.0, 0.0, 0.03),
    (0.0, 1.0, 0.0, -0.03),
)


def views_of(plate: np.ndarray, count: int) -> list[np.ndarray]:
    """The first `count` views of a plate image (the plate itself first); edges are repeated."""
    h, w = plate.shape[:2]
    out = [plate]
    for angle, scale, dx, dy in VIEWS[1:count]:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
        m[0, 2] += dx * w
        m[1, 2] += dy * h
        out.append(cv2.warpAffine(plate, m, (w, h), borderMode=cv2.BORDER_REPLICATE))
    return out


def mean_of_views(probs: np.ndarray, count: int) -> np.ndarray:
    """[plates * count, slots, symbols] model output, views of a plate adjacent -> [plates, slots, symbols]."""
    return probs.reshape(-1, count, *probs.shape[1:]).mean(axis=1)

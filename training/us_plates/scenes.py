"""US plate crops shown as the product sees plates in photos: pasted over the plate of a real eu/br car photo,
then cut out by a loose, jittered box with the product's margin, as the localiser would.

The US crops are tight and their edges are repeated to pad them; the product's boxes come out of photos with
bumper, frame and screws around the plate. A reader fine-tuned on the crops alone learns their look and reads
the photos worse (training/README.md); these composites give it the photos' look without any US photo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from services.ocr.onnx_engine import PLATE_MARGIN

CONTEXT = 1.5  # how much of the car around the labelled plate a scene keeps, in plate widths each side


@dataclass(frozen=True)
class Scene:
    """Part of a car photo around its labelled plate, and where that plate is in it."""

    image: np.ndarray
    x: int
    y: int
    w: int
    h: int


def load_scenes(folder: Path) -> list[Scene]:
    """One scene per labelled photo of an openalpr/benchmarks folder (`X.jpg` + `X.txt`)."""
    out = []
    for txt in sorted(folder.glob("*.txt")):
        parts = txt.read_text().strip().split("\t")
        image = cv2.imread(str(folder / parts[0])) if len(parts) == 6 else None
        if image is None:
            continue
        x, y, w, h = (int(v) for v in parts[1:5])
        H, W = image.shape[:2]
        x0, y0 = max(0, round(x - CONTEXT * w)), max(0, round(y - CONTEXT * w))
        x1, y1 = min(W, round(x + w + CONTEXT * w)), min(H, round(y + h + CONTEXT * w))
        out.append(Scene(image[y0:y1, x0:x1].copy(), x - x0, y - y0, w, h))
    return out


def composite(plate: np.ndarray, scene: Scene, rng: random.Random) -> np.ndarray | None:
    """The tight US `plate` pasted over the scene's plate (covering it: US plates are about 2:1, eu ones
    longer), cut out with each edge moved by up to 10% of the plate's size, plus the product's margin.
    None when the pasted plate would not fit in the scene."""
    ph, pw = plate.shape[:2]
    width = round(scene.w * rng.uniform(1.05, 1.3))
    height = round(width * ph / pw)
    x0 = round(scene.x + scene.w / 2 - width / 2)
    y0 = round(scene.y + scene.h / 2 - height / 2)
    H, W = scene.image.shape[:2]
    if x0 < 0 or y0 < 0 or x0 + width > W or y0 + height > H or width < 8 or height < 4:
        return None
    canvas = scene.image.copy()
    canvas[y0 : y0 + height, x0 : x0 + width] = cv2.resize(
        plate, (width, height), interpolation=cv2.INTER_AREA
    )

    def edge(v: int, size: int) -> int:
        return round(v + rng.uniform(-0.1, 0.1) * size)

    bx0, bx1 = edge(x0, width), edge(x0 + width, width)
    by0, by1 = edge(y0, height), edge(y0 + height, height)
    dx, dy = round((bx1 - bx0) * PLATE_MARGIN), round((by1 - by0) * PLATE_MARGIN)
    cut = canvas[max(0, by0 - dy) : min(H, by1 + dy), max(0, bx0 - dx) : min(W, bx1 + dx)]
    return cut if cut.size else None

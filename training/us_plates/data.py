"""Real plate images for training: US crops (openalpr_seg_and_ocr/us), and the labelled boxes of the eu and br
photo sets. Each comes out as the product's OCR input: the plate with a 10% margin (edge pixels repeated for
crops, the photo around the box for photos), so the model sees what it will see in the product."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np

from services.ocr.onnx_engine import PLATE_MARGIN

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"  # fast-plate-ocr's latin alphabet, '_' = empty slot
SLOTS = 9
HEIGHT, WIDTH = 32, 96


def pad_crop(plate: np.ndarray) -> np.ndarray:
    h, w = plate.shape[:2]
    dy, dx = round(h * PLATE_MARGIN), round(w * PLATE_MARGIN)
    return cv2.copyMakeBorder(plate, dy, dy, dx, dx, cv2.BORDER_REPLICATE)


def us_crops(folder: Path) -> list[tuple[str, np.ndarray, str]]:
    """(file name, padded crop, plate) for every row of groundtruth.csv."""
    out = []
    with (folder / "groundtruth.csv").open() as f:
        for row in csv.reader(f):
            if len(row) != 3 or row[0] == "file":
                continue
            image = cv2.imread(str(folder / row[0]))
            if image is not None:
                out.append((row[0], pad_crop(image), row[2].strip().upper()))
    return out


def photo_boxes(folder: Path) -> list[tuple[str, np.ndarray, str]]:
    """(file name, box + margin from the photo, plate) for every labelled photo of a benchmark folder."""
    out = []
    for txt in sorted(folder.glob("*.txt")):
        parts = txt.read_text().strip().split("\t")
        if len(parts) != 6:
            continue
        image = cv2.imread(str(folder / parts[0]))
        if image is None:
            continue
        x, y, w, h = (int(v) for v in parts[1:5])
        dx, dy = round(w * PLATE_MARGIN), round(h * PLATE_MARGIN)
        H, W = image.shape[:2]
        crop = image[max(0, y - dy) : min(H, y + h + dy), max(0, x - dx) : min(W, x + w + dx)]
        if crop.size:
            out.append((parts[0], crop, parts[5].strip().upper()))
    return out


def encode(text: str) -> np.ndarray:
    text = "".join(c for c in text.upper() if c in ALPHABET[:-1])[:SLOTS]
    return np.array([ALPHABET.index(c) for c in text.ljust(SLOTS, "_")], dtype=np.int64)


def to_input(image: np.ndarray) -> np.ndarray:
    """BGR image -> HEIGHT x WIDTH uint8 grayscale, the second reader's input."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.resize(gray, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)

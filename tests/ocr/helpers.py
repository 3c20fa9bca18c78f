"""Reading the benchmark labels, and making vehicle messages for OCR tests."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from anpr.messages import Box

T0 = datetime(2026, 1, 5, 8, 0, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Labelled:
    image: Path
    plate_box: Box
    plate: str


def benchmark_photos(data: Path) -> list[Labelled]:
    """openalpr_benchmarks/us: one photo per .txt label `name x y w h plate`."""
    out = []
    for label in sorted((data / "openalpr_benchmarks" / "us").glob("*.txt")):
        name, x, y, w, h, plate = label.read_text().strip().split("\t")
        out.append(Labelled(label.parent / name, Box(x=int(x), y=int(y), w=int(w), h=int(h)), plate))
    return out


def plate_crops(data: Path) -> list[tuple[Path, str, str]]:
    """openalpr_seg_and_ocr/us: (crop, state, plate) from groundtruth.csv."""
    folder = data / "openalpr_seg_and_ocr" / "us"
    with open(folder / "groundtruth.csv", newline="") as fh:
        return [(folder / name, state, plate) for name, state, plate in csv.reader(fh)]

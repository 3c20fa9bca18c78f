"""Plate reading accuracy on labelled photos, through the product's own path.

    python -m services.ocr.benchmark FOLDER [--crops] [--misses misses.csv] [--limit N]

FOLDER in the openalpr/benchmarks layout: `X.jpg` + `X.txt` holding one tab-separated line
`file x y width height PLATE`. Each photo goes VehicleDetector → PlateReader exactly as in the product
(settings from the environment, `DETECTOR_*` and `OCR_*`, as the services read them). With `--crops`,
FOLDER holds plate crops and a `groundtruth.csv` (`file,state,PLATE`): OCR alone (model + decoding).

Per photo, the best read is the one with the highest confidence. Reported: found (any read's plate
box has IoU >= 0.3 with the labelled box), exact (best read == plate), top-N (plate among the reads
or their candidates), character accuracy (1 - edit distance / plate length, at least 0), seconds per
image. The misses go to a CSV; the last line printed is `exact <read>/<total>`.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np

from anpr.messages import Box, FrameMessage, PlateRead
from anpr.plates import edit_distance, normalize

FOUND_IOU = 0.3


@dataclass(frozen=True)
class Sample:
    image: Path
    plate: str
    box: Box | None  # the labelled plate box; None for crops


@dataclass(frozen=True)
class Outcome:
    """What the product made of one sample."""

    read: str  # best read, '' when none
    confidence: float
    candidates: tuple[str, ...]  # every read and candidate of the image, best read first
    boxes: tuple[Box, ...]  # plate boxes of the reads, frame coordinates
    seconds: float
    cpu_seconds: float = 0.0  # the process's CPU time (all threads): what others' load does not change


@dataclass
class Score:
    total: int = 0
    found: int = 0
    exact: int = 0
    top_n: int = 0
    char_sum: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    misses: list[tuple[Sample, Outcome]] = field(default_factory=list)

    def add(self, sample: Sample, outcome: Outcome) -> None:
        self.total += 1
        self.seconds += outcome.seconds
        self.cpu_seconds += outcome.cpu_seconds
        if sample.box is not None and any(b.iou(sample.box) >= FOUND_IOU for b in outcome.boxes):
            self.found += 1
        if outcome.read == sample.plate:
            self.exact += 1
        else:
            self.misses.append((sample, outcome))
        self.top_n += sample.plate in outcome.candidates
        self.char_sum += char_accuracy(sample.plate, outcome.read)

    def lines(self, crops: bool) -> list[str]:
        n = max(1, self.total)
        out = (
            []
            if crops
            else [f"found    {self.found}/{self.total} ({self.found / n:.1%}) plate box IoU >= {FOUND_IOU}"]
        )
        return out + [
            f"top-N    {self.top_n}/{self.total} ({self.top_n / n:.1%}) plate among reads and candidates",
            f"chars    {self.char_sum / n:.1%} character accuracy (1 - edit distance / length)",
            f"time     {self.seconds / n:.3f} s/image, {self.cpu_seconds / n:.3f} CPU s/image",
            f"exact    {self.exact / n:.1%}",
            f"exact {self.exact}/{self.total}",
        ]


def char_accuracy(truth: str, read: str) -> float:
    return max(0.0, 1.0 - edit_distance(truth, read) / max(1, len(truth)))


def load_photos(folder: Path) -> list[Sample]:
    """X.txt labels; the image is the named file, or X.jpg/.png next to the label (the br set names
    .png files that are stored as .jpg)."""
    samples = []
    for label in sorted(folder.glob("*.txt")):
        fields = label.read_text().strip().split("\t")
        if len(fields) != 6:
            raise ValueError(f"{label}: expected 6 tab-separated fields `file x y w h PLATE`, got {fields!r}")
        name, x, y, w, h, plate = fields
        image = next(
            (p for p in (folder / name, label.with_suffix(".jpg"), label.with_suffix(".png")) if p.is_file()),
            None,
        )
        if image is None:
            raise ValueError(f"{label}: image {name} not found")
        samples.append(Sample(image, normalize(plate), Box(x=int(x), y=int(y), w=int(w), h=int(h))))
    if not samples:
        raise ValueError(f"{folder}: no .txt labels (openalpr/benchmarks layout expected)")
    return samples


def load_crops(folder: Path) -> list[Sample]:
    truth = folder / "groundtruth.csv"
    if not truth.is_file():
        raise ValueError(f"{folder}: no groundtruth.csv (`file,state,PLATE` rows expected)")
    with open(truth, newline="") as fh:
        rows = [r for r in csv.reader(fh) if r]
    bad = [r for r in rows if len(r) != 3]
    if bad:
        raise ValueError(f"{truth}: expected `file,state,PLATE`, got {bad[0]!r}")
    return [Sample(folder / name, normalize(plate), None) for name, _state, plate in rows]


def outcome_of_reads(
    reads: Sequence[PlateRead], seconds: float, floor: float = 0.0, cpu_seconds: float = 0.0
) -> Outcome:
    """The product's answer: the reads at or above `floor` (OCR_MIN_CONFIDENCE). Plate boxes count from every
    read, so "found" measures finding the plate, not also reading it confidently."""
    everything = sorted(reads, key=lambda r: -r.confidence)
    ranked = [r for r in everything if r.confidence >= floor]
    texts: list[str] = []
    for r in ranked:
        for t in (r.normalized, *(c.text for c in r.candidates)):
            if t not in texts:
                texts.append(t)
    best = ranked[0] if ranked else None
    return Outcome(
        read=best.normalized if best else "",
        confidence=best.confidence if best else 0.0,
        candidates=tuple(texts),
        boxes=tuple(r.plate_box for r in everything if r.plate_box is not None),
        seconds=seconds,
        cpu_seconds=cpu_seconds,
    )


class PhotoRunner:
    """VehicleDetector → PlateReader, as the services run them (one fresh camera per photo)."""

    def __init__(self) -> None:
        from services.detector.detector import VehicleDetector
        from services.detector.settings import DetectorSettings
        from services.ocr.reader import PlateReader
        from services.ocr.settings import OcrSettings

        self.detector = VehicleDetector(DetectorSettings())
        settings = OcrSettings()
        self.floor = settings.min_confidence  # applied here, so that reads under it still show their box
        self.reader = PlateReader(settings.model_copy(update={"min_confidence": 0.0}))

    def __call__(self, sample: Sample, index: int) -> Outcome:
        jpeg = _jpeg_bytes(sample.image)
        t0, c0 = time.perf_counter(), time.process_time()
        frame = FrameMessage(
            camera=f"benchmark{index}",
            seq=0,
            captured_at=datetime.now(timezone.utc),
            width=1,  # the detector takes the size from the decoded image
            height=1,
            jpeg=jpeg,
            end_of_stream=True,  # each photo is its own stream: no tracker or read memory carried over
        )
        reads = self.reader.process(self.detector.process(frame)).reads
        return outcome_of_reads(reads, time.perf_counter() - t0, self.floor, time.process_time() - c0)


class CropRunner:
    """OCR alone on plate crops: the configured engine's `read_plate` (no vehicle, no localiser)."""

    def __init__(self) -> None:
        from services.ocr.engine import build_engine
        from services.ocr.settings import OcrSettings

        self.engine = build_engine(OcrSettings())
        if not hasattr(self.engine, "read_plate"):
            raise SystemExit(f"--crops needs an engine that reads plate crops; {self.engine.name} does not")

    def __call__(self, sample: Sample, index: int) -> Outcome:
        image = cv2.imread(str(sample.image))
        if image is None:
            raise ValueError(f"{sample.image}: not an image")
        t0, c0 = time.perf_counter(), time.process_time()
        result = self.engine.read_plate(image)  # type: ignore[attr-defined]
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if result is None:
            return Outcome("", 0.0, (), (), seconds, cpu)
        texts = tuple(dict.fromkeys([result.text, *(t for t, _ in result.candidates)]))
        return Outcome(result.text, result.confidence, texts, (), seconds, cpu)


def run(samples: Iterable[Sample], runner, progress: bool = False) -> Score:  # noqa: ANN001
    score = Score()
    for i, sample in enumerate(samples):
        score.add(sample, runner(sample, i))
        if progress and (i + 1) % 25 == 0:
            print(f"  {i + 1} images, exact {score.exact}", file=sys.stderr)
    return score


def write_misses(path: Path, score: Score) -> None:
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["image", "truth", "read", "confidence", "chars", "found", "candidates"])
        for sample, o in score.misses:
            found = "" if sample.box is None else int(any(b.iou(sample.box) >= FOUND_IOU for b in o.boxes))
            out.writerow(
                [
                    sample.image.name,
                    sample.plate,
                    o.read,
                    f"{o.confidence:.3f}",
                    f"{char_accuracy(sample.plate, o.read):.2f}",
                    found,
                    " ".join(o.candidates),
                ]
            )


def _jpeg_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data[:2] == b"\xff\xd8":
        return data
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # frames travel as JPEG
    if image is None:
        raise ValueError(f"{path}: not an image")
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.ocr.benchmark", description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path)
    p.add_argument(
        "--crops", action="store_true", help="FOLDER holds plate crops + groundtruth.csv: OCR alone"
    )
    p.add_argument("--misses", type=Path, help="write the misses here (CSV)")
    p.add_argument("--limit", type=int, default=0, help="first N images only")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = p.parse_args(argv)
    try:
        samples = (load_crops if args.crops else load_photos)(args.folder)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    samples = samples[: args.limit or None]
    try:
        runner = CropRunner() if args.crops else PhotoRunner()
    except Exception as exc:  # a missing model or library: say which, no traceback
        print(f"error: cannot start the product's path: {exc}", file=sys.stderr)
        return 2
    score = run(samples, runner, progress=not args.quiet)
    if args.misses:
        write_misses(args.misses, score)
    print(
        f"{args.folder} ({'crops, OCR alone' if args.crops else 'photos, detector → OCR'}): {score.total} images"
    )
    print("\n".join(score.lines(args.crops)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

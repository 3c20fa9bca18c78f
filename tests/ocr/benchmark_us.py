"""Quick benchmark: the 129 US benchmark photos through detector → vehicle crop → localiser → OCR.

    python tests/ocr/benchmark_us.py [--data ../shared/data] [--limit N] [--verbose]

Prints the exact-read rate (best read of the photo equals the labelled plate), how often any read of the
photo was right, and the time per photo of each stage. Not a test: a measurement.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2

from anpr.messages import FrameMessage
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--min-ratio", type=float, default=None)
    p.add_argument("--verbose", action="store_true")
    args = p.parse_args()
    data = args.data
    detector = VehicleDetector(
        DetectorSettings(model=str(data / "models/fallback/yolo11n_int8.tflite"), _env_file=None)
    )
    extra = {} if args.min_ratio is None else {"format_min_ratio": args.min_ratio}
    reader = PlateReader(
        OcrSettings(
            localiser_model=str(data / "models/plates/openalpr_us/us.xml"),
            reader_model=str(data / "models/peers/fast_plate_ocr/cct_xs_v1_global.onnx"),
            min_confidence=0.0,
            _env_file=None,
            **extra,
        )
    )
    labels = sorted((data / "openalpr_benchmarks/us").glob("*.txt"))[: args.limit or None]
    exact = anywhere = no_vehicle = no_read = 0
    t_det = t_ocr = 0.0
    vehicles = 0
    for seq, label in enumerate(labels):
        name, *_box, plate = label.read_text().strip().split("\t")
        jpeg = (label.parent / name).read_bytes()
        h, w = cv2.imdecode(
            __import__("numpy").frombuffer(jpeg, "uint8"), cv2.IMREAD_REDUCED_GRAYSCALE_8
        ).shape
        frame = FrameMessage(
            camera=f"bench{seq}",
            seq=0,
            captured_at=datetime.now(timezone.utc),
            width=w * 8,
            height=h * 8,
            jpeg=jpeg,
        )
        t0 = time.perf_counter()
        found = detector.process(frame)
        t1 = time.perf_counter()
        reads = reader.process(found).reads
        t2 = time.perf_counter()
        t_det, t_ocr, vehicles = t_det + t1 - t0, t_ocr + t2 - t1, vehicles + len(found.vehicles)
        best = max(reads, key=lambda r: r.confidence) if reads else None
        exact += best is not None and best.normalized == plate
        anywhere += any(r.normalized == plate or plate in [c.text for c in r.candidates] for r in reads)
        no_vehicle += not found.vehicles
        no_read += bool(found.vehicles) and not reads
        if args.verbose:
            got = f"{best.normalized} {best.confidence:.2f} (raw {best.text})" if best else "-"
            print(
                f"{'OK ' if best and best.normalized == plate else 'BAD'} {plate:9s} {got} vehicles={len(found.vehicles)}"
            )
    n = len(labels)
    print(
        f"photos {n}: exact {exact} ({exact / n:.1%}), right among reads/candidates {anywhere}, "
        f"no vehicle {no_vehicle}, vehicles but no read {no_read}"
    )
    print(
        f"detector {t_det / n * 1000:.0f} ms/photo; OCR {t_ocr / n * 1000:.0f} ms/photo, "
        f"{t_ocr / max(1, vehicles) * 1000:.0f} ms/vehicle ({vehicles} vehicles)"
    )


if __name__ == "__main__":
    main()

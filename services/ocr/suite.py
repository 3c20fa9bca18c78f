"""Every labelled shared set through the product's path with one set of settings, as one table.

    python -m services.ocr.suite [--sets us,eu,br,crops,ucsd] [--video] [--data DIR] [--misses DIR]

Photo sets go VehicleDetector → PlateReader and the crops set OCR alone, exactly as
`python -m services.ocr.benchmark` does; `--video` adds the lot-day video: the whole edge pipeline
(capture → detector → OCR → aggregator, `services.pipeline.run`) over `videos/us_lot_day.mp4`, its events
matched to `us_lot_day.csv` (same plate, same type, time within the listed sighting ± half a second,
as the video tests count), read at 5 frames/s unless `CAPTURE_MAX_FPS` is set.
Settings come from the environment (`DETECTOR_*`, `OCR_*`, `AGGREGATOR_*`) like the services read them.
The last lines are `exact <read>/<total> <set>`, one per set.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from services.ocr.benchmark import CropRunner, PhotoRunner, Score, load_crops, load_photos, run, write_misses

VIDEO_START = datetime(2026, 11, 24, 6, 0, 0, tzinfo=timezone.utc)
TOLERANCE_S = 0.5  # one or two frames at the processed rate
VIDEO_MAX_FPS = 5.0  # frames per second read from a video, as tests/pipeline/test_gate_sequence.py


@dataclass(frozen=True)
class ImageSet:
    folder: str  # under the data folder
    crops: bool


IMAGE_SETS = {
    "us": ImageSet("openalpr_benchmarks/us", False),
    "eu": ImageSet("openalpr_benchmarks/eu", False),
    "br": ImageSet("openalpr_benchmarks/br", False),
    "crops": ImageSet("openalpr_seg_and_ocr/us", True),
    "ucsd": ImageSet("us_parking_ucsd", False),
}
VIDEOS = {"lot-day": "videos/us_lot_day", "gate": "videos/us_gate_sequence"}


@dataclass
class Row:
    name: str
    total: int
    exact: int
    found: str  # '' where the set has no plate boxes
    top_n: str
    extra: str  # video: events that match none listed
    seconds: str  # per image, or per frame for a video
    cpu: str  # the process's CPU seconds per image ('' for a video)


def image_row(name: str, data: Path, misses: Path | None) -> Row:
    spec = IMAGE_SETS[name]
    folder = data / spec.folder
    samples = (load_crops if spec.crops else load_photos)(folder)
    score: Score = run(samples, CropRunner() if spec.crops else PhotoRunner())
    if misses is not None:
        write_misses(misses / f"{name}_misses.csv", score)
    return Row(
        name,
        score.total,
        score.exact,
        "" if spec.crops else str(score.found),
        str(score.top_n),
        "",
        f"{score.seconds / max(1, score.total):.3f}",
        f"{score.cpu_seconds / max(1, score.total):.3f}",
    )


def video_row(name: str, data: Path, misses: Path | None) -> Row:
    from services.pipeline.run import Stages
    from services.pipeline.run import run as run_pipeline
    from services.pipeline.settings import PipelineSettings

    base = data / VIDEOS[name]
    expected = expected_events(base.with_suffix(".csv"))
    # The video tests' rate unless CAPTURE_MAX_FPS says otherwise: which frames are read moves
    # events (docs/accuracy.md), so every figure states its rate.
    rate = {} if os.environ.get("CAPTURE_MAX_FPS") else {"max_fps": VIDEO_MAX_FPS}
    with tempfile.TemporaryDirectory(prefix="anpr-suite-") as out:
        settings = PipelineSettings(output_dir=Path(out), write_video=False)
        result = run_pipeline(
            [str(base.with_suffix(".mp4"))], settings, Stages(capture_overrides=rate), start_time=VIDEO_START
        )
    got = [(e.plate, e.type.value, e.time) for e in result.events]
    matched = [x for x in expected if any(event_matches(e, x) for e in got)]
    extra = [e for e in got if not any(event_matches(e, x) for x in expected)]
    if misses is not None:
        with open(misses / f"{name}_misses.csv", "w", newline="") as fh:
            out_csv = csv.writer(fh)
            out_csv.writerow(["kind", "plate", "event", "time_s"])
            out_csv.writerows(
                ["missed", p, ev, f"{(lo - VIDEO_START).total_seconds():.1f}"]
                for p, ev, lo, _hi in expected
                if (p, ev, lo, _hi) not in matched
            )
            out_csv.writerows(
                ["extra", p, ev, f"{(t - VIDEO_START).total_seconds():.1f}"] for p, ev, t in extra
            )
    return Row(
        name,
        len(expected),
        len(matched),
        "",
        "",
        str(len(extra)),
        f"{result.seconds / max(1, result.frames):.3f}",
        "",
    )


def expected_events(path: Path) -> list[tuple[str, str, datetime, datetime]]:
    with open(path) as fh:
        return [
            (
                r["plate"],
                r["event"],
                VIDEO_START + timedelta(seconds=float(r["first_seen_s"])),
                VIDEO_START + timedelta(seconds=float(r["last_seen_s"])),
            )
            for r in csv.DictReader(fh)
        ]


def event_matches(event: tuple[str, str, datetime], expected: tuple[str, str, datetime, datetime]) -> bool:
    plate, kind, when = event
    want, want_kind, first, last = expected
    slack = timedelta(seconds=TOLERANCE_S)
    return plate == want and kind == want_kind and first - slack <= when <= last + slack


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| set | total | found | top-N | exact | extra events | s/image | CPU s/image |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        share = f"{r.exact}/{r.total} ({r.exact / max(1, r.total):.1%})"
        lines.append(
            f"| {r.name} | {r.total} | {r.found} | {r.top_n} | {share} | {r.extra} | {r.seconds} | {r.cpu} |"
        )
    return lines + [f"exact {r.exact}/{r.total} {r.name}" for r in rows]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m services.ocr.suite", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--sets",
        default=",".join(IMAGE_SETS),
        help=f"comma list of {', '.join([*IMAGE_SETS, *VIDEOS])} (default: every image set)",
    )
    p.add_argument("--video", action="store_true", help="add the lot-day video (minutes of CPU)")
    p.add_argument(
        "--data",
        type=Path,
        default=Path(
            os.environ.get("ANPR_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared/data")
        ),
        help="the shared data folder (default: $ANPR_SHARED_DATA or ../shared/data)",
    )
    p.add_argument("--misses", type=Path, help="write <set>_misses.csv for every set into this folder")
    args = p.parse_args(argv)
    names = [n.strip() for n in args.sets.split(",") if n.strip()]
    if args.video and "lot-day" not in names:
        names.append("lot-day")
    unknown = [n for n in names if n not in IMAGE_SETS and n not in VIDEOS]
    if unknown or not names:
        print(
            f"error: --sets: unknown set(s) {unknown}; choose from {[*IMAGE_SETS, *VIDEOS]}", file=sys.stderr
        )
        return 2
    if args.misses is not None:
        args.misses.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        measure: Callable[[str, Path, Path | None], Row] = image_row if name in IMAGE_SETS else video_row
        try:
            rows.append(measure(name, args.data, args.misses))
        except (OSError, ValueError) as exc:
            print(f"error: set {name}: {exc}", file=sys.stderr)
            return 2
        print(f"  {name}: exact {rows[-1].exact}/{rows[-1].total}", file=sys.stderr)
    print("\n".join(table(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

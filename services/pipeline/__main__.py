"""`python -m services.pipeline SOURCE...`: the run a new user starts first."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path
from typing import NoReturn

from pydantic import ValidationError

from anpr.heap import keep_frames_off_the_heap
from anpr.logs import setup_logging
from anpr.models import require
from anpr.service import StartupError
from services.capture.capture import CaptureError
from services.detector.settings import DetectorSettings
from services.ocr.settings import OcrSettings
from services.pipeline.inputs import BadInput, check_display, iso_time, positive, resolve_sources, start_of
from services.pipeline.run import RunResult, Stages, run
from services.pipeline.runs import mark_latest, new_run_folder
from services.pipeline.settings import PipelineSettings
from services.pipeline.viewer import Viewer


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    keep_frames_off_the_heap()
    base = Path(args.relative_to or ".")
    try:
        settings = PipelineSettings(**_cli_overrides(args, base))
        detector, ocr = DetectorSettings(), OcrSettings()
        stages = Stages(detector, ocr, capture_overrides=_capture_overrides(args))
    except ValidationError as exc:
        print(f"invalid settings:\n{exc}", file=sys.stderr)
        return 2
    try:
        sources = resolve_sources(args.sources, base)
        check_display(settings.show)
        require([*detector.model_needs(), *ocr.model_needs()])  # every missing model in one message
    except (BadInput, StartupError) as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings.common.log_level, settings.common.log_json)
    start, told_by = start_of(sources, args.start_time)
    if start is not None:
        print(f"start time of the first frame: {start.isoformat()} ({told_by})", file=sys.stderr)
    folder = new_run_folder(settings.output_dir)
    try:
        with Viewer(show=settings.show, progress=not args.no_progress) as viewer:
            result = run(
                sources,
                settings.model_copy(update={"output_dir": folder}),
                stages,
                start_time=start,
                gap_s=args.gap_s,
                on_frame=viewer.on_frame,
            )
    except (StartupError, CaptureError) as exc:  # nothing ran: the run's folder holds nothing of use
        print(exc, file=sys.stderr)
        shutil.rmtree(folder)
        return 2
    _summary(result, mark_latest(folder), base)
    return 0


class _OneLineErrors(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = _OneLineErrors(
        prog="./run.sh",
        description="Run capture → detector → OCR → aggregator over footage, in one process, and write the "
        "annotated video and CSV files to a new folder OUTPUT/<date-time>/; OUTPUT/latest points at the last "
        "finished run. Models: DETECTOR_MODEL, OCR_READER_MODEL, OCR_LOCALISER_MODEL (see README).",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="video file(s), rtsp:// URL, USB index, or csi://0; "
        "several files play as one footage, one after the other",
    )
    p.add_argument(
        "--show", action="store_true", default=None, help="show an OpenCV window (needs a display)"
    )
    p.add_argument("--output", metavar="OUTPUT", help="output folder (default: output)")
    p.add_argument(
        "--start-time",
        type=iso_time,
        metavar="TIME",
        help="time of the first frame of a file, ISO 8601, UTC unless it has a zone "
        "(default: the file's modification time, so copying the file moves every event; the time used is printed)",
    )
    p.add_argument(
        "--gap-s", type=float, default=0.0, help="seconds between the end of one source and the next"
    )
    p.add_argument(
        "--max-fps",
        type=positive,
        metavar="FPS",
        help="process at most this many frames per second of footage (> 0)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--relative-to", metavar="DIR", help=argparse.SUPPRESS)  # run.sh: where the person stands
    return p.parse_args(argv)


def _cli_overrides(args: argparse.Namespace, base: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    if args.show is not None:
        out["show"] = True
    if args.output:
        out["output_dir"] = base / args.output
    return out


def _capture_overrides(args: argparse.Namespace) -> dict[str, object]:
    return {"max_fps": args.max_fps} if args.max_fps else {}


def _summary(result: RunResult, latest: Path, base: Path) -> None:
    log = logging.getLogger("pipeline")
    rate = result.frames / result.seconds if result.seconds else 0.0
    log.info(
        "%d frames in %.1f s (%.1f frames/s), %d plate reads, %d events",
        result.frames,
        result.seconds,
        rate,
        result.reads,
        len(result.events),
    )
    for path in result.files:
        print(_shown(path, base))
    print(f"{_shown(latest, base)} -> {result.output_dir.name}", file=sys.stderr)


def _shown(path: Path, base: Path) -> Path:
    """A path as the person can use it from where they stand."""
    if base == Path("."):
        return path
    try:
        return path.absolute().relative_to(base.absolute())
    except ValueError:
        return path.absolute()


if __name__ == "__main__":
    raise SystemExit(main())

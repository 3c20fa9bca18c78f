"""`python -m services.pipeline SOURCE...`: the run a new user starts first."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime

from pydantic import ValidationError

from anpr.logs import setup_logging
from services.pipeline.run import RunResult, Stages, run
from services.pipeline.settings import PipelineSettings
from services.pipeline.viewer import Viewer


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    try:
        settings = PipelineSettings(**_cli_overrides(args))
        stages = Stages(capture_overrides=_capture_overrides(args))
    except ValidationError as exc:
        print(f"invalid settings:\n{exc}", file=sys.stderr)
        return 2
    setup_logging(settings.common.log_level, settings.common.log_json)
    with Viewer(show=settings.show, progress=not args.no_progress) as viewer:
        result = run(
            args.sources,
            settings,
            stages,
            start_time=args.start_time,
            gap_s=args.gap_s,
            on_frame=viewer.on_frame,
        )
    _summary(result)
    return 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m services.pipeline",
        description="Run capture → detector → OCR → aggregator over footage, in one process.",
    )
    p.add_argument(
        "sources",
        nargs="+",
        help="video file(s), rtsp:// URL, USB index, or csi://0; "
        "several files play as one footage, one after the other",
    )
    p.add_argument("--show", action="store_true", default=None, help="show an OpenCV window")
    p.add_argument("--output", help="output folder (default: output)")
    p.add_argument(
        "--start-time",
        type=datetime.fromisoformat,
        help="UTC time of the first frame of a file, ISO 8601 (default: the file's mtime)",
    )
    p.add_argument(
        "--gap-s", type=float, default=0.0, help="seconds between the end of one source and the next"
    )
    p.add_argument("--max-fps", type=float, help="process at most this many frames per second of footage")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def _cli_overrides(args: argparse.Namespace) -> dict[str, object]:
    out: dict[str, object] = {}
    if args.show is not None:
        out["show"] = True
    if args.output:
        out["output_dir"] = args.output
    return out


def _capture_overrides(args: argparse.Namespace) -> dict[str, object]:
    return {"max_fps": args.max_fps} if args.max_fps else {}


def _summary(result: RunResult) -> None:
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
        print(path)


if __name__ == "__main__":
    raise SystemExit(main())

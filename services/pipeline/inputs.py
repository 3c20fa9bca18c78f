"""What the person typed, checked before anything is loaded or written: each problem is one line that
names the argument and the fix (the caller exits 2)."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from services.capture.sources import SourceKind, parse_source

SOURCE_FORMS = "a video file, an rtsp:// or http:// URL, a USB camera index (0) or csi://0"


class BadInput(ValueError):
    """One line: the argument, what is wrong, and what to do."""


def resolve_sources(sources: list[str], base: Path) -> list[str]:
    """Files relative to `base` (where the person stands), checked; other sources as they are."""
    out = []
    for text in sources:
        try:
            source = parse_source(text)
        except ValueError as exc:
            raise BadInput(f"SOURCE {text!r}: {exc}; give {SOURCE_FORMS}") from None
        if source.kind is not SourceKind.FILE:
            out.append(text)
            continue
        path = base / Path(str(source.target))
        if path.is_dir():
            raise BadInput(
                f"SOURCE {text!r} is a folder ({path}); give a video file in it, e.g. {path}/video.mp4"
            )
        if not path.is_file():
            raise BadInput(f"SOURCE {text!r}: no such file ({path}); give the path of {SOURCE_FORMS}")
        if not _decodes(path):
            raise BadInput(
                f"SOURCE {text!r}: {path} is not a video FFmpeg can open (corrupt or truncated?); "
                "give a video file such as .mp4, .mkv or .avi"
            )
        out.append(str(path))
    return out


def _decodes(path: Path) -> bool:
    """A video stream FFmpeg can open (PyAV's FFmpeg, which, unlike OpenCV's, logs nothing to stderr)."""
    import av

    try:
        with av.open(str(path)) as container:
            return bool(container.streams.video)
    except (av.error.FFmpegError, UnicodeDecodeError):
        return False


def start_of(sources: list[str], start_time: datetime | None) -> tuple[datetime | None, str]:
    """The time of the first frame and where it comes from; None for a live source (the clock)."""
    if start_time is not None:
        return start_time, "--start-time"
    first = parse_source(sources[0])
    if first.kind is not SourceKind.FILE:
        return None, "the clock (live source)"
    mtime = Path(str(first.target)).stat().st_mtime
    return datetime.fromtimestamp(mtime, timezone.utc), "the file's modification time; --start-time sets it"


def iso_time(text: str) -> datetime:
    """`--start-time`: ISO 8601; without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time; give e.g. 2026-11-24T08:00:00+00:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0; give e.g. 5 (frames per second)")
    return value


def check_display(show: bool) -> None:
    """An OpenCV window needs a display; without one Qt aborts the process (exit 134, a broken mp4)."""
    if (
        show
        and sys.platform.startswith("linux")
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    ):
        raise BadInput(
            "--show needs a display, and DISPLAY is not set here: run without --show (the annotated video is "
            "written either way), or from a desktop session or `ssh -X`"
        )

"""Video files: frame count, deterministic time, frame-rate cap, resize, end of stream, bad files."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from anpr.messages import FrameMessage, decode, encode
from services.capture.capture import Capture, CaptureError
from services.capture.settings import CaptureSettings
from tests.capture.helpers import make_clip

START = datetime(2024, 5, 1, 8, 0, 0, tzinfo=timezone.utc)


def _frames(**settings: object) -> tuple[Capture, list[FrameMessage]]:
    capture = Capture(CaptureSettings(**settings))
    return capture, list(capture.frames())


def _image(frame: FrameMessage) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, f"frame {frame.seq} is not a JPEG"
    return image


def test_every_frame_of_a_real_video(parkpow: Path) -> None:
    capture, frames = _frames(source=str(parkpow), start_time=START, camera_id="lane-1")
    assert capture.total_frames == len(frames) == 339
    assert capture.size == (1280, 720)
    assert capture.fps == pytest.approx(18.09, abs=0.01)
    assert [f.seq for f in frames] == list(range(339))
    assert [f.end_of_stream for f in frames] == [False] * 338 + [True]
    assert {f.camera for f in frames} == {"lane-1"}
    assert _image(frames[0]).shape == (720, 1280, 3)
    assert (frames[0].width, frames[0].height) == (1280, 720)
    # A frame survives the bus's JSON round trip byte for byte.
    assert decode(FrameMessage, encode(frames[-1])).jpeg == frames[-1].jpeg


def test_timestamps_are_start_plus_position_and_repeat(parkpow: Path) -> None:
    _, first = _frames(source=str(parkpow), start_time=START, resize_width=160)
    _, second = _frames(source=str(parkpow), start_time=START, resize_width=160)
    assert [f.captured_at for f in first] == [f.captured_at for f in second]
    assert first[0].captured_at == START
    assert first[100].captured_at == START + timedelta(seconds=100 / 18.090741880512162)
    assert (first[-1].captured_at - START).total_seconds() == pytest.approx(18.68, abs=0.01)
    later = START + timedelta(minutes=10)
    _, shifted = _frames(source=str(parkpow), start_time=later, resize_width=160)
    assert [f.captured_at - later for f in shifted] == [f.captured_at - START for f in first]


def test_default_start_is_the_file_mtime_in_utc(parkpow: Path) -> None:
    _, frames = _frames(source=str(parkpow), resize_width=160, max_fps=1)
    assert frames[0].captured_at == datetime.fromtimestamp(parkpow.stat().st_mtime, timezone.utc)
    assert frames[0].captured_at.utcoffset() == timedelta(0)


def test_fps_cap_halves_the_count(parkpow: Path) -> None:
    half = 18.090741880512162 / 2
    capture, frames = _frames(source=str(parkpow), start_time=START, max_fps=half, resize_width=160)
    assert capture.total_frames == len(frames) == 170  # frames 0, 2, 4, ... 338
    assert capture.fps == pytest.approx(half)
    steps = {round((b.captured_at - a.captured_at).total_seconds(), 4) for a, b in pairwise(frames)}
    assert steps == {round(2 / 18.090741880512162, 4)}
    assert frames[-1].end_of_stream and frames[-1].seq == 169


@pytest.mark.parametrize("max_fps", [1.0, 5.0, 7.3, 18.0, 30.0])
def test_total_frames_matches_what_comes_out(parkpow: Path, max_fps: float) -> None:
    capture, frames = _frames(source=str(parkpow), max_fps=max_fps, resize_width=64)
    assert capture.total_frames == len(frames)
    assert len(frames) == min(339, int(18.68 * max_fps) + 1)


def test_long_gate_video_at_a_capped_rate(gate_video: Path) -> None:
    capture, frames = _frames(source=str(gate_video), start_time=START, max_fps=2, resize_width=320)
    assert capture.total_frames == len(frames) == 360  # 180 s at 2 fps out of 1800 frames at 10 fps
    assert frames[-1].captured_at - START == timedelta(seconds=179.5)
    assert frames[-1].end_of_stream


def test_resize_keeps_aspect_and_quality_sets_size(parkpow: Path) -> None:
    capture, frames = _frames(source=str(parkpow), max_fps=2, resize_width=640, jpeg_quality=90)
    assert capture.size == (640, 360)
    assert {(f.width, f.height) for f in frames} == {(640, 360)}
    assert _image(frames[3]).shape == (360, 640, 3)
    _, coarse = _frames(source=str(parkpow), max_fps=2, resize_width=640, jpeg_quality=30)
    assert sum(len(f.jpeg) for f in coarse) < 0.6 * sum(len(f.jpeg) for f in frames)


def test_first_seq_continues_a_numbering(parkpow: Path) -> None:
    capture = Capture(CaptureSettings(source=str(parkpow), max_fps=1, resize_width=64), first_seq=1000)
    assert [f.seq for f in capture.frames()] == list(range(1000, 1019))


@pytest.mark.parametrize("keep", [0.5, 0.001])
def test_truncated_mp4_is_a_clear_error(parkpow: Path, tmp_path: Path, keep: float) -> None:
    data = parkpow.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * keep)])
    began = time.monotonic()
    with pytest.raises(CaptureError, match="corrupt or truncated"):
        Capture(CaptureSettings(source=str(cut)))
    assert time.monotonic() - began < 5


def test_not_a_video_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "notes.mp4"
    junk.write_text("this is not a video\n" * 100)
    with pytest.raises(CaptureError, match="not a video OpenCV can decode"):
        Capture(CaptureSettings(source=str(junk)))


def test_truncated_file_that_opens_ends_early_with_the_flag(
    parkpow: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clip = make_clip(parkpow, tmp_path / "clip.avi", frames=30, fps=18.0)
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    capture = Capture(CaptureSettings(source=str(cut), start_time=START))
    assert capture.total_frames == 30  # what the file announces
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="capture"):
        frames = list(capture.frames())
    assert time.monotonic() - began < 5
    assert 5 < len(frames) < 30
    assert frames[-1].end_of_stream and not any(f.end_of_stream for f in frames[:-1])
    assert any("truncated or corrupt" in r.getMessage() for r in caplog.records)


def test_a_file_with_no_decodable_frame_raises(parkpow: Path, tmp_path: Path) -> None:
    clip = make_clip(parkpow, tmp_path / "clip.avi", frames=10, fps=18.0)
    data = clip.read_bytes()
    movi = data.index(b"movi") + 4  # keep the headers, lose every frame
    cut = tmp_path / "empty.avi"
    cut.write_bytes(data[:movi])
    try:
        capture = Capture(CaptureSettings(source=str(cut)))
    except CaptureError as exc:
        assert "corrupt or truncated" in str(exc)
        return
    with pytest.raises(CaptureError, match="no frame of .* could be decoded"):
        list(capture.frames())


def test_realtime_pace_plays_at_the_file_rate(parkpow: Path, tmp_path: Path) -> None:
    clip = make_clip(parkpow, tmp_path / "clip.avi", frames=20, fps=20.0)
    began = time.monotonic()
    _, frames = _frames(source=str(clip), pace="realtime", start_time=START)
    elapsed = time.monotonic() - began
    assert len(frames) == 20
    assert 0.9 <= elapsed < 2.5  # 20 frames at 20 fps: the last is due at 0.95 s
    began = time.monotonic()
    _frames(source=str(clip), pace="fast", start_time=START)
    assert time.monotonic() - began < 0.8


def test_realtime_pace_skips_what_a_slow_consumer_misses(parkpow: Path, tmp_path: Path) -> None:
    clip = make_clip(parkpow, tmp_path / "clip.avi", frames=40, fps=20.0)
    capture = Capture(CaptureSettings(source=str(clip), pace="realtime", start_time=START))
    frames = []
    for frame in capture.frames():
        frames.append(frame)
        time.sleep(0.15)  # three frame intervals per frame
    assert capture.late_skipped > 0
    assert len(frames) + capture.late_skipped == 40
    assert frames[-1].end_of_stream
    # Skipped frames leave gaps in time, not in the numbering.
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert (frames[-1].captured_at - START).total_seconds() > 1.5

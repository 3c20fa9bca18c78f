"""The motion gate: no detection while nothing moves (after a short hold), detection again on motion,
tracks kept across the frames it skips; and the read budget that sends each track to the plate reader on its best frames."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from services.detector.budget import ReadBudget
from services.detector.detector import VehicleDetector
from services.detector.gate import MotionGate, RegionMask
from services.detector.pace import DetectPace
from services.detector.settings import DetectorSettings
from tests.detector.helpers import T0, frame, video_jpegs


def _scene(x: int) -> np.ndarray:
    image = np.full((360, 640, 3), 90, np.uint8)
    cv2.rectangle(image, (x, 200), (x + 120, 280), (230, 230, 230), -1)  # a "car" at x
    return image


def _gate(idle_s: float = 1.0, mask: RegionMask | None = None) -> MotionGate:
    return MotionGate(width=160, threshold=20, min_area=0.002, idle_detect_s=idle_s, mask=mask)


def test_still_frames_are_skipped_until_the_idle_interval() -> None:
    gate = _gate(idle_s=1.0)
    seen = [gate.admits("cam", _scene(100), T0 + timedelta(seconds=i / 10)) for i in range(12)]
    assert seen == [True] + [False] * 9 + [True, False]  # the first, then once a second of capture time


def test_the_gate_stays_open_for_the_hold_after_motion() -> None:
    gate = MotionGate(width=160, threshold=20, min_area=0.002, idle_detect_s=60.0, mask=None, hold_s=0.25)
    assert gate.admits("cam", _scene(100), T0)
    assert gate.admits("cam", _scene(200), T0 + timedelta(seconds=0.1))  # motion at 0.1 s
    seen = [gate.admits("cam", _scene(200), T0 + timedelta(seconds=0.1 + i / 10)) for i in range(1, 6)]
    assert seen == [True, True, False, False, False]  # 0.2 and 0.3 s are within the hold


def test_motion_opens_the_gate_and_small_creeps_add_up() -> None:
    gate = _gate(idle_s=60.0)
    assert gate.admits("cam", _scene(100), T0)
    assert gate.admits("cam", _scene(160), T0 + timedelta(seconds=0.1))  # the car moved
    # one pixel a frame is below the threshold frame to frame, but compared with the last frame
    # looked at it adds up, and the gate opens again
    opened = [gate.admits("cam", _scene(160 + i), T0 + timedelta(seconds=0.2 + i / 10)) for i in range(1, 30)]
    assert not opened[0] and any(opened)


def test_cameras_are_gated_apart_and_motion_outside_the_region_is_ignored() -> None:
    left_half = RegionMask(((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)))
    gate = _gate(idle_s=60.0, mask=left_half)
    assert gate.admits("a", _scene(450), T0) and gate.admits("b", _scene(450), T0)
    assert not gate.admits("a", _scene(500), T0 + timedelta(seconds=0.1))  # moved in the right half only
    assert gate.admits("a", _scene(100), T0 + timedelta(seconds=0.2))  # into the left half
    assert left_half.bounds(640, 360) == (0, 0, 320, 360)


def test_a_track_is_read_when_new_when_it_grew_and_every_interval() -> None:
    budget = ReadBudget(every_s=0.5, growth=0.15)
    at = [T0 + timedelta(seconds=i / 10) for i in range(12)]
    assert budget.wants("cam", 1, 1000, at[0])  # new
    assert not budget.wants("cam", 1, 1100, at[1])  # 10% larger, 0.1 s later
    assert budget.wants("cam", 1, 1200, at[2])  # 20% larger than the largest read
    assert not budget.wants("cam", 1, 1200, at[3])
    assert budget.wants("cam", 1, 900, at[7])  # 0.5 s since the last read
    assert budget.wants("cam", 2, 500, at[7]) and budget.wants("other", 1, 500, at[7])  # other tracks
    assert budget.wants("cam", None, 500, at[8])  # no track id: no memory to go by
    assert ReadBudget(every_s=0.0, growth=0.15).wants("cam", 1, 1000, at[0])


def test_the_pace_detects_once_per_interval_of_capture_time_per_camera() -> None:
    pace = DetectPace(every_s=0.2)
    looked = []
    for i in range(12):  # 18 frames a second
        at = T0 + timedelta(seconds=i / 18)
        looked.append(pace.due("cam", at))
        if looked[-1]:
            pace.detected("cam", at)
    assert looked == [True, False, False, False, True, False, False, False, True, False, False, False]
    assert pace.due("other", T0)  # cameras are paced apart
    assert pace.due("cam", T0 - timedelta(seconds=5))  # time went back: a new stream
    pace.forget("cam")
    assert pace.due("cam", T0 + timedelta(seconds=8 / 18))
    assert all(DetectPace(every_s=0.0).due("cam", T0) for _ in range(3))


@pytest.fixture(scope="module")
def gated(tflite_model: Path) -> VehicleDetector:
    # idle_detect_s long enough that only motion opens the gate; every tracked vehicle published
    return VehicleDetector(
        DetectorSettings(
            model=str(tflite_model), device="cpu", idle_detect_s=60.0, motion_hold_s=0.25, read_every_s=0.0
        )
    )


def test_no_detection_while_still_and_tracks_survive_the_skipped_frames(
    gated: VehicleDetector, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    detections: list[int] = []
    real_detect = gated._detect

    def counted(image: np.ndarray) -> Any:
        detections.append(1)
        return real_detect(image)

    monkeypatch.setattr(gated, "_detect", counted)
    video = list(video_jpegs(data_dir / "videos" / "us_gate_sequence.mp4", 8))  # a car drives in
    seq = 0
    before = []
    for jpeg in video[:4]:
        before.append(gated.process(frame(jpeg, seq=seq, camera="still")))
        seq += 1
    assert len(detections) == 4 and all(m.vehicles for m in before)
    track = max(before[-1].vehicles, key=lambda v: v.box.w * v.box.h).track_id
    # The footage freezes for longer than ByteTrack keeps a lost track (track_buffer frames):
    stills = [gated.process(frame(video[3], seq=seq + i, camera="still")) for i in range(45)]
    seq += 45
    assert all(m.vehicles for m in stills[:2])  # motion_hold_s after the last motion: still looked at
    assert all(m.vehicles == () for m in stills[2:])
    assert len(detections) == 4 + 2  # then not one detection while nothing moved
    after = gated.process(frame(video[4], seq=seq, camera="still"))  # it moves on
    assert len(detections) == 7 and after.vehicles
    assert max(after.vehicles, key=lambda v: v.box.w * v.box.h).track_id == track  # the same track

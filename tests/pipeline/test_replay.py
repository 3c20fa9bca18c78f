"""Replaying footage: time comes from the footage, so the gap between two replays decides whether
a car left and came back (10 minutes) or simply stayed in view (5 seconds)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import cv2
import pytest

from services.pipeline.run import run
from services.pipeline.settings import PipelineSettings
from tests.pipeline.gate_data import GATE_START

pytestmark = pytest.mark.slow  # whole videos through the real models: minutes on a CPU

CLIP_S = 14.0  # the gate sequence's first three cars, each in view for 3 s


@pytest.fixture(scope="module")
def clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first seconds of the gate footage, cut here (never stored in the repository)."""
    src = cv2.VideoCapture(str(data_dir / "videos" / "us_gate_sequence.mp4"))
    fps = src.get(cv2.CAP_PROP_FPS)
    path = tmp_path_factory.mktemp("clip") / "gate_first_cars.mp4"
    out = None
    for _ in range(int(CLIP_S * fps)):
        ok, frame = src.read()
        assert ok
        if out is None:
            out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, frame.shape[1::-1])
        out.write(frame)
    assert out is not None
    out.release()
    return path


def _events_by_plate(clip: Path, gap_s: float, tmp_path: Path) -> dict[str, list[str]]:
    result = run(
        [str(clip), str(clip)],
        PipelineSettings(output_dir=tmp_path / f"gap{gap_s:g}"),
        start_time=GATE_START,
        gap_s=gap_s,
    )
    by_plate: dict[str, list[str]] = defaultdict(list)
    for e in sorted(result.events, key=lambda e: e.time):
        by_plate[e.plate].append(e.type.value)
    return dict(by_plate)


def test_second_replay_ten_minutes_later_is_an_exit(
    clip: Path, models: dict[str, str], tmp_path: Path
) -> None:
    by_plate = _events_by_plate(clip, 600.0, tmp_path)
    assert by_plate, "no plate was read in the clip"
    assert all(types == ["entry", "exit"] for types in by_plate.values()), by_plate


def test_second_replay_five_seconds_later_is_the_same_sighting(
    clip: Path, models: dict[str, str], tmp_path: Path
) -> None:
    by_plate = _events_by_plate(clip, 5.0, tmp_path)
    assert by_plate, "no plate was read in the clip"
    assert all(types == ["entry"] for types in by_plate.values()), by_plate

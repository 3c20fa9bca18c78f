"""The README's run command over the toll-gate video writes both outputs a user expects."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import cv2
import pytest

pytestmark = pytest.mark.slow  # whole videos through the real models: minutes on a CPU

REPO = Path(__file__).resolve().parents[2]


def test_run_sh_over_parkpow_writes_video_and_csv(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "output"
    env = os.environ | {
        "ANPR_SHARED_DATA": str(data_dir),
        "ANPR_ENV_FILE": "/nonexistent/.env",
        "AGGREGATOR_STATE_FILE": str(tmp_path / "state.json"),
    }
    proc = subprocess.run(
        ["./run.sh", str(data_dir / "videos" / "parkpow_cars.mp4"), "--output", str(out), "--no-progress"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = out / "latest"  # each run writes a folder of its own; latest points at the last finished one
    video = cv2.VideoCapture(str(out / "detected_vehicles_and_plates.mp4"))
    assert video.isOpened()
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) > 300  # 339 frames in the source
    ok, frame = video.read()
    assert ok and frame.shape[:2] == (720, 1280)
    with open(out / "detected_vehicles_and_plates.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert rows, "no plate reads in the CSV"
    assert {"time", "camera", "plate", "confidence", "vehicle_class", "track_id", "event"} <= set(rows[0])

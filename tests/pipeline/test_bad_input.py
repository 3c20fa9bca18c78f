"""Bad input to run.sh: one line naming the argument and the fix, exit 2, the previous results intact."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.pipeline.fresh_tree import short_clip
from tests.pipeline.gate_data import model_env

REPO = Path(__file__).resolve().parents[2]
PREVIOUS = "20260101-080000"


@pytest.fixture
def output(tmp_path: Path) -> Path:
    """An output folder holding a previous run's results, `latest` pointing at them."""
    out = tmp_path / "output"
    (out / PREVIOUS).mkdir(parents=True)
    (out / PREVIOUS / "events.csv").write_text("time,type,plate\n2026-01-01T08:00:00,entry,ABC1234\n")
    (out / "latest").symlink_to(PREVIOUS)
    return out


def run_sh(*args: str, cwd: Path = REPO, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    return subprocess.run(
        [str(REPO / "run.sh"), *args, "--no-progress"],
        cwd=cwd,
        env=base | {"ANPR_ENV_FILE": "/nonexistent/.env"} | env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_refused(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def assert_intact(output: Path) -> None:
    assert sorted(p.name for p in output.iterdir()) == [PREVIOUS, "latest"]
    assert os.readlink(output / "latest") == PREVIOUS
    assert "ABC1234" in (output / "latest" / "events.csv").read_text()


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nope.mp4"], ["SOURCE 'nope.mp4'", "no such file", "give the path of a video file"]),
        (["--max-fps", "0", "{video}"], ["--max-fps", "'0'", "above 0"]),
        (["--start-time", "yesterday", "{video}"], ["--start-time", "'yesterday'"]),
        (["--show", "{video}"], ["--show needs a display", "run without --show"]),
    ],
    ids=["missing-file", "max-fps-0", "bad-start-time", "show-without-display"],
)
def test_bad_argument_is_one_line_and_keeps_previous_results(
    args: list[str], words: list[str], output: Path, data_dir: Path
) -> None:
    video = str(data_dir / "videos" / "parkpow_cars.mp4")
    proc = run_sh(*[a.format(video=video) for a in args], "--output", str(output))
    assert_refused(proc, *words)
    assert_intact(output)


def test_a_folder_is_not_a_video(output: Path, data_dir: Path) -> None:
    folder = data_dir / "videos"
    line = assert_refused(run_sh(str(folder), "--output", str(output)), "is a folder")
    assert str(folder) in line
    assert_intact(output)


def test_a_file_that_is_not_a_video(output: Path, tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_text("not a video")
    assert_refused(run_sh(str(fake), "--output", str(output)), f"SOURCE '{fake}'", "not a video")
    assert_intact(output)


def test_a_model_that_fails_to_load_keeps_previous_results(
    output: Path, data_dir: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a model")
    proc = run_sh(
        str(data_dir / "videos" / "parkpow_cars.mp4"), "--output", str(output), DETECTOR_MODEL=str(broken)
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]  # after the start time and the log of the start
    assert "could not load the detector model" in last and f"DETECTOR_MODEL={broken}" in last
    assert_intact(output)  # the new run's folder is gone, latest still points at the previous run


def test_relative_paths_from_another_folder_are_the_callers(data_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    short_clip(data_dir / "videos" / "parkpow_cars.mp4", elsewhere / "gate.mp4", 300, 10)
    assert_refused(run_sh("missing.mp4", cwd=elsewhere), str(elsewhere / "missing.mp4"))

    proc = run_sh("gate.mp4", "--output", "out", cwd=elsewhere, **model_env(data_dir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (elsewhere / "out" / "latest" / "events.csv").is_file()
    assert "start time of the first frame:" in proc.stderr  # and where it came from
    assert "the file's modification time" in proc.stderr

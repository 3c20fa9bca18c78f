"""Start-up: a missing model is a clear error, and Ultralytics never installs or fetches anything."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.detector.yolo import ModelUnavailable, is_local_model, load_yolo

REPO = Path(__file__).resolve().parents[2]


def test_missing_model_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "yolo11n.engine"
    with pytest.raises(ModelUnavailable) as err:
        VehicleDetector(DetectorSettings(model=str(missing)))
    assert str(missing) in str(err.value)
    assert "DETECTOR_MODEL" in str(err.value)


def test_a_file_that_is_not_a_model_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "broken.tflite"
    fake.write_bytes(b"this is not a tflite model")
    with pytest.raises(ModelUnavailable, match="could not load the detector model"):
        VehicleDetector(DetectorSettings(model=str(fake)))


def test_model_names_and_paths_are_told_apart(tflite_model: Path) -> None:
    assert is_local_model(str(tflite_model))
    assert is_local_model("models/yolo11n.engine")  # a path, even when missing: never a download
    assert not is_local_model("yolo11n.pt")  # an Ultralytics name (downloaded where there is internet)


def test_ultralytics_never_pip_installs_at_run_time(
    detector: VehicleDetector, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ultralytics.utils.checks as checks
    import ultralytics.utils.events as events

    assert checks.AUTOINSTALL is False
    assert events.events.enabled is False
    calls = []
    monkeypatch.setattr(subprocess, "check_output", lambda *a, **k: calls.append(a) or b"")
    assert checks.check_requirements("surely-not-an-installed-package-anpr>=1.0") is False
    assert calls == []  # it reported the missing package instead of running pip


def test_local_model_keeps_ultralytics_offline() -> None:
    # A fresh interpreter: the switches must be in place before Ultralytics is first imported.
    code = (
        "import os, sys; from services.detector.yolo import load_yolo; "
        "load_yolo(sys.argv[1]); import ultralytics.utils as u; "
        "print(os.environ['YOLO_OFFLINE'], os.environ['YOLO_AUTOINSTALL'], u.ONLINE)"
    )
    model = str(REPO.parent / "shared" / "data" / "models" / "fallback" / "yolo11n_int8.tflite")
    env = {k: v for k, v in os.environ.items() if not k.startswith("YOLO_")}
    out = subprocess.run(
        [sys.executable, "-c", code, model], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1].split() == ["true", "false", "False"]


def test_the_edge_models_load_without_the_kernel_compiler() -> None:
    """Triton (torch's GPU kernel compiler) would cost ~70 MB of RSS for nothing: inference never uses it."""
    code = (
        "import sys; from pathlib import Path; from services.detector.yolo import load_yolo; "
        "from services.ocr.localise import YoloLocaliser; import numpy as np; "
        "load_yolo(sys.argv[1]); YoloLocaliser(Path(sys.argv[2]), 0.3).locate(np.zeros((96, 160, 3), np.uint8)); "
        "import torch.utils._triton as t; "
        "print(t.has_triton_package(), 'libtriton' in Path('/proc/self/maps').read_text())"
    )
    models = REPO.parent / "shared" / "data" / "models"
    args = [
        str(models / "fallback" / "yolo11n_int8.tflite"),
        str(models / "plates" / "yolov8n_plate" / "plate_detector_model_1.pt"),
    ]
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1].split() == ["False", "False"]


def test_service_exits_with_the_error_when_the_model_is_missing(tmp_path: Path) -> None:
    env = os.environ | {
        "DETECTOR_MODEL": str(tmp_path / "nope.tflite"),
        "ANPR_ENV_FILE": "/nonexistent/.env",
        "ANPR_ENVIRONMENT": "development",
    }
    out = subprocess.run(
        [sys.executable, "-m", "services.detector"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert f"DETECTOR_MODEL={tmp_path / 'nope.tflite'} (vehicle detector): no such file" in out.stderr


def test_the_tflite_model_runs_on_the_threads_asked_for(tflite_model: Path) -> None:
    """Ultralytics would give it one core less than the machine has; DETECTOR_THREADS decides."""

    def threads() -> int:
        return len(os.listdir("/proc/self/task"))

    models = [load_yolo(str(tflite_model), threads=1)]  # the runtime's own threads, once per process
    before = threads()
    models.append(load_yolo(str(tflite_model), threads=1))
    assert threads() == before  # one thread: inference on the caller's
    models.append(load_yolo(str(tflite_model), threads=3))
    assert threads() >= before + 2  # a pool of workers beside the caller

"""Each service's command line: --help says what it consumes, publishes and which settings matter;
--check-config checks what start-up checks (the models are there and load), not only the settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def service(name: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DETECTOR_", "OCR_", "CAPTURE_"))}
    base |= {"ANPR_ENV_FILE": "/nonexistent/.env", "ANPR_ENVIRONMENT": "development"}
    return subprocess.run(
        [sys.executable, "-m", f"services.{name}", *args],
        cwd=REPO, env=base | env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "setting"),
    [
        ("capture", "CAPTURE_SOURCE"),
        ("detector", "DETECTOR_MODEL"),
        ("ocr", "OCR_READER_MODEL"),
        ("aggregator", "AGGREGATOR_WINDOW_S"),
    ],
)
def test_help_says_what_the_service_consumes_publishes_and_reads(name: str, setting: str) -> None:
    out = service(name, "--help")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "onsumes" in text and "publishes" in text, text
    assert setting in text and "MQTT_*" in text


def test_detector_check_config_fails_on_a_missing_model(tmp_path: Path) -> None:
    out = service("detector", "--check-config", DETECTOR_MODEL=str(tmp_path / "nope.tflite"))
    assert out.returncode == 2
    assert f"DETECTOR_MODEL={tmp_path / 'nope.tflite'}" in out.stderr
    assert "Traceback" not in out.stderr


def test_detector_check_config_loads_the_model(data_dir: Path) -> None:
    model = data_dir / "models" / "fallback" / "yolo11n_int8.tflite"
    out = service("detector", "--check-config", DETECTOR_MODEL=str(model))
    assert out.returncode == 0, out.stderr
    assert str(model) in out.stdout


def test_detector_check_config_fails_on_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"not a model")
    out = service("detector", "--check-config", DETECTOR_MODEL=str(broken))
    assert out.returncode == 2
    assert "could not load the detector model" in out.stderr


def test_ocr_check_config_lists_every_missing_model_at_once(tmp_path: Path) -> None:
    out = service(
        "ocr",
        "--check-config",
        OCR_READER_MODEL=str(tmp_path / "reader.onnx"),
        OCR_LOCALISER_MODEL=str(tmp_path / "us.xml"),
    )
    assert out.returncode == 2
    assert "2 model(s) missing" in out.stderr
    assert "OCR_READER_MODEL=" in out.stderr and "OCR_LOCALISER_MODEL=" in out.stderr


def test_ocr_check_config_passes_with_the_models(data_dir: Path) -> None:
    models = data_dir / "models"
    out = service(
        "ocr",
        "--check-config",
        OCR_READER_MODEL=str(models / "peers" / "fast_plate_ocr" / "cct_xs_v1_global.onnx"),
        OCR_LOCALISER_MODEL=str(models / "plates" / "openalpr_us" / "us.xml"),
    )
    assert out.returncode == 0, out.stderr
    assert '"localiser": "cascade"' in out.stdout  # chosen from the .xml model

"""Source strings, the Jetson CSI pipeline, and settings validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.capture.capture import Capture, CaptureError
from services.capture.settings import CaptureSettings
from services.capture.sources import SourceKind, csi_pipeline, has_gstreamer, parse_source

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("clips/gate.mp4", SourceKind.FILE, "clips/gate.mp4"),
        ("0", SourceKind.USB, 0),
        ("/dev/video2", SourceKind.USB, "/dev/video2"),
        ("rtsp://10.0.0.5:554/stream1", SourceKind.STREAM, "rtsp://10.0.0.5:554/stream1"),
        ("https://cam.local/mjpg", SourceKind.STREAM, "https://cam.local/mjpg"),
        ("csi://0", SourceKind.CSI, 0),
        ("csi://1", SourceKind.CSI, 1),
    ],
)
def test_source_kinds(text: str, kind: SourceKind, target: object) -> None:
    source = parse_source(text)
    assert (source.kind, source.target) == (kind, target)
    assert source.live == (kind is not SourceKind.FILE)


@pytest.mark.parametrize(
    ("text", "reason"), [("csi:/0", "csi://0"), ("ftp://cam/x", "scheme"), (" ", "empty")]
)
def test_bad_sources_say_why(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_source(text)


def test_stream_password_stays_out_of_logs() -> None:
    described = parse_source("rtsp://admin:hunter2@10.0.0.5:554/live").describe()
    assert "hunter2" not in described
    assert described == "rtsp://admin:***@10.0.0.5:554/live"


def test_csi_pipeline_string() -> None:
    text = csi_pipeline(1, 1920, 1080, 30, flip=2)
    stages = [s.strip() for s in text.split("!")]
    assert stages[0] == "nvarguscamerasrc sensor-id=1"
    assert "video/x-raw(memory:NVMM)" in stages[1] and "width=(int)1920" in stages[1]
    assert "framerate=(fraction)30/1" in stages[1]
    assert stages[2] == "nvvidconv flip-method=2"
    assert stages[3] == "video/x-raw, format=(string)BGRx"
    assert stages[4] == "videoconvert"
    assert stages[5] == "video/x-raw, format=(string)BGR"
    assert stages[6].startswith("appsink") and "drop=true" in stages[6]


def test_csi_pipeline_scales_on_nvvidconv() -> None:
    stages = [s.strip() for s in csi_pipeline(0, out_size=(960, 540)).split("!")]
    assert stages[0] == "nvarguscamerasrc sensor-id=0"
    assert stages[3] == "video/x-raw, width=(int)960, height=(int)540, format=(string)BGRx"


def test_csi_without_gstreamer_is_a_clear_error() -> None:
    if has_gstreamer():
        pytest.skip("this OpenCV has GStreamer (a Jetson); the error path cannot happen here")
    with pytest.raises(CaptureError, match="GStreamer"):
        Capture(CaptureSettings(source="csi://0"))


def test_missing_file_fails_at_settings(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="does not exist"):
        CaptureSettings(source=str(tmp_path / "nope.mp4"))


def test_start_time_needs_a_zone(parkpow: Path) -> None:
    with pytest.raises(ValidationError, match="timezone"):
        CaptureSettings(source=str(parkpow), start_time=datetime(2024, 5, 1, 8, 0))
    aware = CaptureSettings(source=str(parkpow), start_time="2024-05-01T08:00:00-05:00")
    assert aware.start_time == datetime(2024, 5, 1, 13, 0, tzinfo=timezone.utc)
    with pytest.raises(ValidationError, match="time must be from 1970-01-01"):  # no frame could carry it
        CaptureSettings(source=str(parkpow), start_time="0001-01-01T00:00:00+01:00")


def test_backoff_bounds_checked(parkpow: Path) -> None:
    with pytest.raises(ValidationError, match="RECONNECT_MAX_S"):
        CaptureSettings(source=str(parkpow), reconnect_initial_s=10, reconnect_max_s=1)


def test_environment(monkeypatch: pytest.MonkeyPatch, parkpow: Path) -> None:
    monkeypatch.setenv("CAPTURE_SOURCE", str(parkpow))
    monkeypatch.setenv("CAPTURE_MAX_FPS", "5")
    monkeypatch.setenv("CAPTURE_PACE", "realtime")
    settings = CaptureSettings()
    assert (settings.max_fps, settings.pace, settings.camera_id) == (5.0, "realtime", "gate")


def _check_config(env_file: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CAPTURE_", "MQTT_", "ANPR_"))}
    env["ANPR_ENV_FILE"] = str(env_file)
    return subprocess.run(
        [sys.executable, "-m", "services.capture", "--check-config"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_config_reads_env_file_and_refuses_typos(parkpow: Path, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    # One .env serves every service: another service's keys are fine, a typo under CAPTURE_ is not.
    env_file.write_text(f"CAPTURE_SOURCE={parkpow}\nCAPTURE_CAMERA_ID=exit-lane\nDETECTOR_MODEL=x.pt\n")
    ok = _check_config(env_file)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["camera_id"] == "exit-lane"
    env_file.write_text(f"CAPTURE_SOURCE={parkpow}\nCAPTURE_MAX_FSP=5\n")
    bad = _check_config(env_file)
    assert bad.returncode == 2
    assert "capture_max_fsp" in bad.stderr

"""Back-pressure through the running Mosquitto: a slow downstream answers each frame with its reads."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import pytest

from anpr.bus import MqttBus
from anpr.settings import MqttSettings
from services.capture.backpressure import FramePump, InFlightWindow, PumpStats
from services.capture.capture import Capture
from services.capture.settings import CaptureSettings
from services.capture.wiring import frame_publisher, wire
from tests.capture.helpers import Downstream, make_clip

REPO = Path(__file__).resolve().parents[2]
START = datetime(2024, 5, 1, 8, 0, 0, tzinfo=timezone.utc)


def test_window_answers_settle_earlier_frames() -> None:
    window = InFlightWindow(size=3, timeout_s=60)
    for seq in range(3):
        window.sent(seq)
    assert not window.has_room()
    window.ack(1)  # frame 0 was lost on the way; the answer for 1 settles it too
    assert window.outstanding == 1 and window.has_room()
    window.ack(99)  # an answer for nothing in flight (an earlier run) changes nothing
    assert window.outstanding == 0
    assert window.max_outstanding == 3


def test_window_gives_up_on_a_silent_downstream(caplog: pytest.LogCaptureFixture) -> None:
    window = InFlightWindow(size=1, timeout_s=0.2)
    window.sent(0)
    began = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="capture"):
        assert window.wait_for_room(threading.Event())
    assert 0.2 <= time.monotonic() - began < 1.0
    assert window.timeouts == 1
    assert "NO ANSWER from downstream" in caplog.text


def test_window_wait_ends_on_stop() -> None:
    window = InFlightWindow(size=1, timeout_s=60)
    window.sent(0)
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    began = time.monotonic()
    assert not window.wait_for_room(stop)
    assert time.monotonic() - began < 1.0


@contextmanager
def _capture_bus(
    broker: tuple[str, int], prefix: str, settings: CaptureSettings, pump: FramePump
) -> Iterator[MqttBus]:
    """The capture's side as its __main__ runs it: answers served on a helper thread."""
    bus = MqttBus(MqttSettings(host=broker[0], port=broker[1]), f"capture-{uuid.uuid4().hex[:8]}", prefix)
    wire(bus, settings, pump)
    bus.connect()
    stop = threading.Event()
    thread = threading.Thread(target=bus.serve, args=(stop,), daemon=True)
    thread.start()
    try:
        yield bus
    finally:
        stop.set()
        thread.join(timeout=5)
        bus.close()


def _pump(
    broker: tuple[str, int], prefix: str, downstream_delay_s: float, **overrides: object
) -> tuple[PumpStats, Downstream, Capture]:
    settings = CaptureSettings(common={"topic_prefix": prefix}, camera_id="gate", **overrides)
    capture = Capture(settings)
    pump = FramePump(capture, InFlightWindow(settings.max_in_flight, settings.ack_timeout_s))
    with Downstream(*broker, prefix, "gate", downstream_delay_s) as downstream:
        with _capture_bus(broker, prefix, settings, pump) as bus:
            stats = pump.run(frame_publisher(bus, settings, pump), threading.Event())
        assert downstream.done.wait(10), "the end-of-stream frame never arrived"
    return stats, downstream, capture


def test_fast_file_waits_for_downstream_and_loses_nothing(
    mqtt_broker: tuple[str, int], topic_prefix: str, parkpow: Path
) -> None:
    stats, downstream, capture = _pump(
        mqtt_broker,
        topic_prefix,
        0.02,
        source=str(parkpow),
        max_fps=6,
        resize_width=320,
        start_time=START,
        pace="fast",
        max_in_flight=3,
    )
    assert capture.total_frames == 113
    assert downstream.seqs == list(range(113))  # every frame, in order
    assert downstream.frames[-1].end_of_stream and not any(f.end_of_stream for f in downstream.frames[:-1])
    assert stats.published == 113 and stats.skipped == 0 and stats.drained and stats.timeouts == 0
    assert downstream.max_unanswered() <= 3
    assert stats.max_outstanding == 3  # the window was used, and never exceeded


def test_realtime_file_skips_while_the_window_is_full(
    mqtt_broker: tuple[str, int],
    topic_prefix: str,
    parkpow: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clip = make_clip(parkpow, tmp_path / "clip.avi", frames=40, fps=20.0)
    with caplog.at_level(logging.WARNING, logger="capture"):
        stats, downstream, _ = _pump(
            mqtt_broker,
            topic_prefix,
            0.15,
            source=str(clip),
            start_time=START,
            pace="realtime",
            max_in_flight=2,
        )
    assert stats.skipped > 0
    assert stats.published + stats.skipped == 40
    assert downstream.seqs == [f.seq for f in downstream.frames]
    assert len(downstream.seqs) == stats.published
    assert downstream.max_unanswered() <= 2
    assert stats.max_outstanding <= 2
    assert downstream.frames[-1].end_of_stream and stats.drained
    assert any("skipped" in r.getMessage() for r in caplog.records)


def test_silent_downstream_does_not_hang_the_capture(
    mqtt_broker: tuple[str, int],
    topic_prefix: str,
    parkpow: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clip = make_clip(parkpow, tmp_path / "clip.avi", frames=6, fps=20.0)
    settings = CaptureSettings(
        common={"topic_prefix": topic_prefix},
        source=str(clip),
        pace="fast",
        max_in_flight=2,
        ack_timeout_s=0.3,
    )
    capture = Capture(settings)
    pump = FramePump(capture, InFlightWindow(settings.max_in_flight, settings.ack_timeout_s))
    began = time.monotonic()
    with (
        caplog.at_level(logging.ERROR, logger="capture"),
        _capture_bus(mqtt_broker, topic_prefix, settings, pump) as bus,
    ):
        stats = pump.run(frame_publisher(bus, settings, pump), threading.Event())
    assert time.monotonic() - began < 5
    assert stats.published == 6 and not stats.drained and stats.timeouts >= 2
    assert "NO ANSWER from downstream" in caplog.text


def _run_main(env_extra: dict[str, str], timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "services.capture"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )


def test_service_process_exits_0_once_its_last_frame_is_answered(
    mqtt_env: dict[str, str], mqtt_broker: tuple[str, int], topic_prefix: str, parkpow: Path, tmp_path: Path
) -> None:
    clip = make_clip(parkpow, tmp_path / "clip.avi", frames=25, fps=20.0)
    env = {
        "CAPTURE_SOURCE": str(clip),
        "CAPTURE_START_TIME": START.isoformat(),
        "CAPTURE_MAX_IN_FLIGHT": "2",
        "CAPTURE_CAMERA_ID": "gate",
        "MQTT_CLIENT_ID": f"capture-{uuid.uuid4().hex[:8]}",
    }
    with Downstream(*mqtt_broker, topic_prefix, "gate", 0.03) as downstream:
        done = _run_main(env)
    assert done.returncode == 0, done.stderr
    assert downstream.seqs == list(range(25))
    assert downstream.frames[0].captured_at == START
    assert downstream.frames[-1].end_of_stream
    assert downstream.max_unanswered() <= 2


def test_service_process_reports_a_silent_downstream(
    mqtt_env: dict[str, str], parkpow: Path, tmp_path: Path
) -> None:
    clip = make_clip(parkpow, tmp_path / "clip.avi", frames=3, fps=20.0)
    env = {
        "CAPTURE_SOURCE": str(clip),
        "CAPTURE_ACK_TIMEOUT_S": "0.5",
        "MQTT_CLIENT_ID": f"capture-{uuid.uuid4().hex[:8]}",
    }
    began = time.monotonic()
    done = _run_main(env)
    assert time.monotonic() - began < 30
    assert done.returncode == 1
    assert "NO ANSWER from downstream" in done.stderr
    assert "never answered" in done.stderr


def test_service_process_bad_file_exits_1_with_the_reason(mqtt_env: dict[str, str], tmp_path: Path) -> None:
    junk = tmp_path / "broken.mp4"
    junk.write_bytes(b"\x00\x00\x00 ftypisom" + b"\x00" * 500)
    done = _run_main({"CAPTURE_SOURCE": str(junk)})
    assert done.returncode == 1
    assert "corrupt or truncated" in done.stderr

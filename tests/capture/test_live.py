"""Live sources: a stream that cannot be reached backs off; one that drops is reopened."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import pytest

from anpr.messages import FrameMessage
from services.capture.capture import Capture
from services.capture.settings import CaptureSettings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _attempt_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    found = (re.search(r"reconnect attempt \d+ in ([\d.]+) s", r.getMessage()) for r in caplog.records)
    return [float(m.group(1)) for m in found if m]


def _wait_for(condition: object, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("scheme", ["http", "rtsp"])
def test_unreachable_stream_backs_off_until_stopped(caplog: pytest.LogCaptureFixture, scheme: str) -> None:
    url = f"{scheme}://user:pw@127.0.0.1:{_closed_port()}/stream"
    stop = threading.Event()
    settings = CaptureSettings(source=url, reconnect_initial_s=0.1, reconnect_max_s=0.15, open_timeout_s=2)
    capture = Capture(settings, stop=stop)
    assert capture.total_frames is None  # live: no end, no progress bar
    got: list[FrameMessage] = []
    worker = threading.Thread(target=lambda: got.extend(capture.frames()), daemon=True)
    with caplog.at_level(logging.WARNING, logger="capture"):
        worker.start()
        assert _wait_for(lambda: len(_attempt_delays(caplog)) >= 2, 10), "no back-off logged"
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive(), "stop did not end the reconnect loop"
    delays = _attempt_delays(caplog)
    assert delays[:2] == [0.1, 0.15]  # doubled, then held at the maximum
    assert got == []
    assert all("pw@" not in r.getMessage() for r in caplog.records)


class _Mjpeg(BaseHTTPRequestHandler):
    """A camera that serves a few real frames per connection, then drops it."""

    jpegs: list[bytes] = []
    per_connection = 6
    connections = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).connections += 1
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        try:
            for jpeg in self.jpegs[: self.per_connection]:
                head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                self.wfile.write(head + jpeg + b"\r\n")
                self.wfile.flush()
                time.sleep(0.04)
        except OSError:
            pass  # the capture stopped reading mid-stream

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def mjpeg_camera(parkpow: Path) -> Iterator[str]:
    cap = cv2.VideoCapture(str(parkpow))
    _Mjpeg.jpegs = [
        cv2.imencode(".jpg", cv2.resize(cap.read()[1], (320, 180)))[1].tobytes() for _ in range(6)
    ]
    _Mjpeg.connections = 0
    cap.release()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Mjpeg)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/video.mjpg"
    server.shutdown()
    server.server_close()


def test_a_dropping_stream_is_reopened_and_stamped_by_the_clock(
    mjpeg_camera: str, caplog: pytest.LogCaptureFixture
) -> None:
    stop = threading.Event()
    settings = CaptureSettings(
        source=mjpeg_camera, reconnect_initial_s=0.05, resize_width=160, camera_id="cam2"
    )
    capture = Capture(settings, first_seq=7, stop=stop)
    before = datetime.now(timezone.utc)
    frames: list[FrameMessage] = []
    with caplog.at_level(logging.WARNING, logger="capture"):
        for frame in capture.frames():
            frames.append(frame)
            if len(frames) == 14:
                stop.set()
    after = datetime.now(timezone.utc)
    assert _Mjpeg.connections >= 3  # six frames per connection: it had to come back twice
    assert len(_attempt_delays(caplog)) >= 2
    assert [f.seq for f in frames] == list(range(7, 21))
    assert not any(f.end_of_stream for f in frames)
    assert all(before <= f.captured_at <= after for f in frames)
    assert all(a.captured_at <= b.captured_at for a, b in zip(frames, frames[1:], strict=False))
    assert {(f.width, f.height, f.camera) for f in frames} == {(160, 90, "cam2")}
    assert capture.size == (160, 90)


def test_live_frame_rate_cap_skips_by_the_clock(mjpeg_camera: str) -> None:
    stop = threading.Event()
    # The camera sends a frame every 40 ms; at 5 fps at most one in five is kept.
    capture = Capture(CaptureSettings(source=mjpeg_camera, max_fps=5, reconnect_initial_s=0.05), stop=stop)
    began = time.monotonic()
    frames = []
    for frame in capture.frames():
        frames.append(frame)
        if len(frames) >= 5 or time.monotonic() - began > 6:  # generous: the machine may be busy
            stop.set()
    elapsed = time.monotonic() - began
    assert 2 <= len(frames) <= 5 * elapsed + 2  # n frames span n-1 gaps
    gaps = [(b.captured_at - a.captured_at).total_seconds() for a, b in zip(frames, frames[1:], strict=False)]
    assert min(gaps) >= 0.15  # 1/5 s less the limiter's slack and jitter; uncapped it would be 0.04

"""`python -m services.capture`: publish frames until the file ends (exit 0 once its last frame is
answered) or, for a live source, until SIGTERM/SIGINT.

A producer, unlike the other services: the frame loop owns the main thread while a helper thread
handles the bus's incoming answers (reads) for back-pressure.
"""

from __future__ import annotations

import logging
import signal
import threading

from anpr.bus import MqttBus
from anpr.heap import keep_frames_off_the_heap
from anpr.service import load_settings
from services.capture.backpressure import FramePump, InFlightWindow
from services.capture.capture import Capture, CaptureError
from services.capture.settings import CaptureSettings
from services.capture.wiring import frame_publisher, wire

log = logging.getLogger("capture")


ABOUT = """Reads CAPTURE_SOURCE (a video file, an rtsp:// or http:// URL, a USB camera 0 or /dev/video0, or the
Jetson CSI camera csi://0) and publishes <prefix>/frames/<camera> (FrameMessage, JPEG). Consumes
<prefix>/reads/<camera> only as the answers that pace it (CAPTURE_MAX_IN_FLIGHT). A file's first frame is
stamped CAPTURE_START_TIME, by default the file's modification time."""


def main() -> int:
    settings = load_settings(CaptureSettings, "capture", about=ABOUT)
    keep_frames_off_the_heap()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        capture = Capture(settings, stop=stop)
    except CaptureError as exc:
        log.error("%s", exc)
        return 1
    pump = FramePump(capture, InFlightWindow(settings.max_in_flight, settings.ack_timeout_s))
    bus = MqttBus(settings.mqtt, "capture", settings.common.topic_prefix)
    wire(bus, settings, pump)
    bus.connect()
    bus_stop = threading.Event()
    answers = threading.Thread(target=bus.serve, args=(bus_stop,), name="capture-bus", daemon=True)
    answers.start()
    try:
        stats = pump.run(frame_publisher(bus, settings, pump), stop)
    except CaptureError as exc:
        log.error("%s", exc)
        return 1
    finally:
        bus_stop.set()
        answers.join(timeout=5)
        bus.close("stopped")
    log.info("capture done: %s", stats)
    if capture.is_file and not stop.is_set() and not stats.drained:
        log.error("the last frames were never answered by downstream")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

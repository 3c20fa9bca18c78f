"""`python -m services.detector`: vehicles from frames, over MQTT."""

from __future__ import annotations

from anpr.heap import keep_frames_off_the_heap
from anpr.models import require
from anpr.service import build_stage, load_settings, serve
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.detector.wiring import wire

ABOUT = """Consumes <prefix>/frames/<camera> (FrameMessage, JPEG); publishes <prefix>/vehicles/<camera>
(VehiclesMessage: one per frame, every car, truck, bus and motorcycle with its box, track id and crop).
The model is DETECTOR_MODEL: a local file, or an Ultralytics name (yolo11n.pt) fetched on first use."""


def start(settings: DetectorSettings) -> VehicleDetector:
    require(settings.model_needs())  # every missing model in one message
    return VehicleDetector(settings)


def main() -> None:
    settings = load_settings(DetectorSettings, "detector", about=ABOUT, check=start)
    keep_frames_off_the_heap()
    stage = build_stage("detector", lambda: start(settings))
    serve("detector", settings, lambda bus: wire(bus, settings, stage))


if __name__ == "__main__":
    main()

"""`python -m services.detector`: vehicles from frames, over MQTT."""

from __future__ import annotations

from anpr.service import build_stage, load_settings, serve
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.detector.wiring import wire


def main() -> None:
    settings = load_settings(DetectorSettings, "detector")
    stage = build_stage("detector", lambda: VehicleDetector(settings))
    serve("detector", settings, lambda bus: wire(bus, settings, stage))


if __name__ == "__main__":
    main()

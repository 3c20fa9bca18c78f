"""`python -m services.detector`: vehicles from frames, over MQTT."""

from __future__ import annotations

import sys

from anpr.service import load_settings, serve
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.detector.wiring import wire
from services.detector.yolo import ModelUnavailable


def main() -> None:
    settings = load_settings(DetectorSettings, "detector")
    try:
        stage = VehicleDetector(settings)
    except ModelUnavailable as exc:
        print(f"detector: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    serve("detector", settings, lambda bus: wire(bus, settings, stage))


if __name__ == "__main__":
    main()

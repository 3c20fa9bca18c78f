"""`python -m services.ocr`: plate reads from vehicle crops, over MQTT."""

from __future__ import annotations

import sys

from anpr.service import load_settings, serve
from services.ocr.engine import EngineUnavailable
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from services.ocr.wiring import wire


def main() -> None:
    settings = load_settings(OcrSettings, "ocr")
    try:
        stage = PlateReader(settings)
    except EngineUnavailable as exc:
        print(f"ocr: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    serve("ocr", settings, lambda bus: wire(bus, settings, stage))


if __name__ == "__main__":
    main()

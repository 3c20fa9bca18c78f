"""`python -m services.ocr`: plate reads from vehicle crops, over MQTT."""

from __future__ import annotations

from anpr.service import build_stage, load_settings, serve
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from services.ocr.wiring import wire


def main() -> None:
    settings = load_settings(OcrSettings, "ocr")
    stage = build_stage("ocr", lambda: PlateReader(settings))
    serve("ocr", settings, lambda bus: wire(bus, settings, stage))


if __name__ == "__main__":
    main()

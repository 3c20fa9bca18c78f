"""`python -m services.ocr`: plate reads from vehicle crops, over MQTT."""

from __future__ import annotations

from anpr.heap import keep_frames_off_the_heap
from anpr.models import require
from anpr.service import build_stage, load_settings, serve
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from services.ocr.wiring import wire

ABOUT = """Consumes <prefix>/vehicles/<camera> (VehiclesMessage); publishes <prefix>/reads/<camera>
(ReadsMessage: one per input, each plate read with its text, confidence, candidates, boxes and snapshot).
Models (onnx engine): OCR_LOCALISER_MODEL finds the plate, OCR_READER_MODEL reads it; each is a local file
or a name that fast-plate-ocr / open-image-models fetches on first use."""


def start(settings: OcrSettings) -> PlateReader:
    require(settings.model_needs())  # every missing model in one message
    return PlateReader(settings)


def main() -> None:
    settings = load_settings(OcrSettings, "ocr", about=ABOUT, check=start)
    keep_frames_off_the_heap()
    stage = build_stage("ocr", lambda: start(settings))
    serve("ocr", settings, lambda bus: wire(bus, settings, stage))


if __name__ == "__main__":
    main()

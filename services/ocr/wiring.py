"""Bus wiring: vehicles of every camera in, reads of that camera out."""

from __future__ import annotations

from anpr.bus import Bus
from anpr.messages import Kind, VehiclesMessage, topic
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings


def wire(bus: Bus, settings: OcrSettings, stage: PlateReader) -> None:
    prefix = settings.common.topic_prefix

    def on_vehicles(_topic: str, msg: VehiclesMessage) -> None:
        bus.publish(topic(prefix, Kind.READS, msg.camera), stage.process(msg))

    bus.subscribe(topic(prefix, Kind.VEHICLES, "+"), VehiclesMessage, on_vehicles)

"""Bus wiring: frames of every camera in, vehicles of that camera out."""

from __future__ import annotations

from anpr.bus import Bus
from anpr.messages import FrameMessage, Kind, topic
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings


def wire(bus: Bus, settings: DetectorSettings, stage: VehicleDetector) -> None:
    prefix = settings.common.topic_prefix

    def on_frame(_topic: str, frame: FrameMessage) -> None:
        bus.publish(topic(prefix, Kind.VEHICLES, frame.camera), stage.process(frame))

    bus.subscribe(topic(prefix, Kind.FRAMES, "+"), FrameMessage, on_frame)

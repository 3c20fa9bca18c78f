"""The capture on a bus: answers (reads) come in for back-pressure, frames go out."""

from __future__ import annotations

from collections.abc import Callable

from anpr.bus import Bus
from anpr.messages import FrameMessage, Kind, ReadsMessage, topic
from services.capture.backpressure import FramePump
from services.capture.settings import CaptureSettings


def wire(bus: Bus, settings: CaptureSettings, pump: FramePump) -> None:
    reads = topic(settings.common.topic_prefix, Kind.READS, settings.camera_id)
    bus.subscribe(reads, ReadsMessage, pump.on_reads, qos=1)


def frame_publisher(bus: Bus, settings: CaptureSettings, pump: FramePump) -> Callable[[FrameMessage], None]:
    """Files must lose nothing (QoS 1); a live frame that missed its moment is worthless (QoS 0)."""
    frames = topic(settings.common.topic_prefix, Kind.FRAMES, settings.camera_id)
    qos = 1 if pump.capture.is_file else 0

    def publish(frame: FrameMessage) -> None:
        bus.publish(frames, frame, qos=qos)

    return publish

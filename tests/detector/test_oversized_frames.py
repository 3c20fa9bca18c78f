"""A frame whose JPEG header declares a huge image is not decoded: one line in the log, an empty
vehicles message (the clock still moves on), and the next frame is detected as usual."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from anpr.bus import MemoryBus
from anpr.messages import Kind, VehicleClass, VehiclesMessage, topic
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.detector.wiring import wire
from tests.common.jpegs import declaring
from tests.detector.helpers import frame


@pytest.mark.parametrize("side", [9000, 20000])
def test_a_frame_declaring_too_many_pixels_is_skipped_and_the_next_is_detected(
    detector: VehicleDetector,
    detector_settings: DetectorSettings,
    bus_jpg: Path,
    side: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = MemoryBus()
    wire(bus, detector_settings, detector)
    prefix = detector_settings.common.topic_prefix
    got: list[VehiclesMessage] = []
    bus.subscribe(topic(prefix, Kind.VEHICLES, "+"), VehiclesMessage, lambda _t, m: got.append(m))
    bomb = frame(declaring(side, side), seq=1, camera="gate", size=(side, side))
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        bus.publish(topic(prefix, Kind.FRAMES, "gate"), bomb)
    assert time.monotonic() - started < 1.0
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        f"camera gate frame 1: JPEG declares {side}x{side} pixels, over the 33177600 allowed "
        "(DETECTOR_MAX_FRAME_PIXELS); not decoded; no detection"
    ]
    bus.publish(topic(prefix, Kind.FRAMES, "gate"), frame(bus_jpg.read_bytes(), seq=2, camera="gate"))
    assert [(m.seq, m.vehicles == ()) for m in got] == [(1, True), (2, False)]
    assert any(v.vehicle_class is VehicleClass.BUS for v in got[1].vehicles)


def test_the_bound_is_a_setting(tflite_model: Path, bus_jpg: Path) -> None:
    small = VehicleDetector(
        DetectorSettings(model=str(tflite_model), device="cpu", max_frame_pixels=640 * 480)
    )
    assert small.process(frame(bus_jpg.read_bytes())).vehicles == ()  # 810x1080 is over

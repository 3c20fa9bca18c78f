"""A vehicle crop whose JPEG header declares a huge image is not decoded (OpenCV's cascade crashed
the process on 20000x20000 and took 30 s and 4.2 GiB on 12000x12000): one line in the log, the
other vehicles of the frame are still read, and so is the next message. The cascade searches at
most OCR_CASCADE_MAX_WIDTH pixels wide by default, wider than any crop of a 1080p camera."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from anpr.bus import MemoryBus
from anpr.messages import Kind, ReadsMessage, VehiclesMessage, topic
from services.ocr.localise import CascadeLocaliser
from services.ocr.onnx_engine import OnnxEngine
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from services.ocr.wiring import wire
from tests.common.jpegs import declaring


@pytest.mark.parametrize("side", [12000, 20000])
def test_a_crop_declaring_too_many_pixels_is_skipped_and_the_rest_read(
    ocr_settings: OcrSettings,
    engine: OnnxEngine,
    car_vehicles: VehiclesMessage,
    side: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = MemoryBus()
    wire(bus, ocr_settings, PlateReader(ocr_settings, engine))
    prefix = ocr_settings.common.topic_prefix
    got: list[ReadsMessage] = []
    bus.subscribe(topic(prefix, Kind.READS, "+"), ReadsMessage, lambda _t, m: got.append(m))
    good = car_vehicles.vehicles[0]
    bomb = good.model_copy(update={"jpeg": declaring(side, side), "track_id": 77})
    first = car_vehicles.model_copy(update={"vehicles": (bomb, good)})
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        bus.publish(topic(prefix, Kind.VEHICLES, "lane-1"), first)
    assert time.monotonic() - started < 10.0  # the good crop's read, not a decode of the bomb
    assert [r.getMessage() for r in caplog.records] == [
        f"camera lane-1 frame 8 track 77: vehicle crop: JPEG declares {side}x{side} pixels, over the 33177600 allowed "
        "(OCR_MAX_CROP_PIXELS); not decoded; skipped"
    ]
    again = car_vehicles.model_copy(
        update={"seq": 9, "vehicles": (bomb.model_copy(update={"track_id": 78}),)}
    )
    bus.publish(topic(prefix, Kind.VEHICLES, "lane-1"), again)
    next_car = car_vehicles.model_copy(
        update={"seq": 10, "vehicles": (good.model_copy(update={"track_id": 4}),)}
    )
    bus.publish(topic(prefix, Kind.VEHICLES, "lane-1"), next_car)
    assert [(m.seq, [r.normalized for r in m.reads]) for m in got] == [
        (8, ["AKS4329"]),
        (9, []),
        (10, ["AKS4329"]),
    ]


def test_the_cascade_searches_a_bounded_copy_by_default_and_finds_the_same_plates(
    ocr_settings: OcrSettings,
    car_vehicles: VehiclesMessage,
) -> None:
    assert OcrSettings().cascade_max_width == 1920
    path = ocr_settings.localiser_model
    assert path is not None
    crop = cv2.imdecode(np.frombuffer(car_vehicles.vehicles[0].jpeg, np.uint8), cv2.IMREAD_COLOR)
    bounded = CascadeLocaliser(Path(path), max_width=OcrSettings().cascade_max_width)
    unbounded = CascadeLocaliser(Path(path), max_width=0)
    assert crop.shape[1] <= 1920 and bounded.locate(crop) == unbounded.locate(crop)
    wide = cv2.resize(crop, (crop.shape[1] * 8, crop.shape[0] * 8), interpolation=cv2.INTER_LINEAR)
    assert wide.shape[1] > 1920
    assert bounded.locate(wide), "the plate is still found in the scaled-down copy"

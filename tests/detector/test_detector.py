"""The detector on real images with the real YOLO11n INT8 TFLite model."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from anpr.messages import VehicleClass
from services.detector.detector import VehicleDetector
from tests.detector.helpers import frame, video_jpegs


def _inside(inner, outer) -> bool:
    return (
        outer.x <= inner.x
        and outer.y <= inner.y
        and inner.x + inner.w <= outer.x + outer.w
        and inner.y + inner.h <= outer.y + outer.h
    )


def test_bus_jpg_contains_a_bus(detector: VehicleDetector, bus_jpg: Path) -> None:
    jpeg = bus_jpg.read_bytes()
    out = detector.process(frame(jpeg, seq=7, camera="bus-test"))
    assert (out.camera, out.seq, out.width, out.height) == ("bus-test", 7, 810, 1080)
    buses = [v for v in out.vehicles if v.vehicle_class is VehicleClass.BUS]
    assert len(buses) == 1, out.vehicles
    bus = buses[0]
    assert bus.confidence > 0.5
    assert bus.box.w > 600 and bus.box.h > 350  # the bus spans the picture
    assert bus.track_id is not None
    # The crop is the padded box, clipped to the frame, and its JPEG is exactly that region.
    assert _inside(bus.box, bus.crop_box)
    assert bus.crop_box.x + bus.crop_box.w <= out.width and bus.crop_box.y + bus.crop_box.h <= out.height
    crop = cv2.imdecode(np.frombuffer(bus.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert crop.shape[:2] == (bus.crop_box.h, bus.crop_box.w)
    # Only vehicle classes come out (the people in the picture do not).
    assert {v.vehicle_class for v in out.vehicles} <= set(VehicleClass)


def test_us_benchmark_photo_gives_the_car_holding_the_plate(
    detector: VehicleDetector, data_dir: Path
) -> None:
    labels = sorted((data_dir / "openalpr_benchmarks" / "us").glob("*.txt"))
    label = next(p for p in labels if p.read_text().strip().endswith("\tCWW2245"))  # a plain rear view
    name, x, y, w, h, _plate = label.read_text().strip().split("\t")
    out = detector.process(frame((label.parent / name).read_bytes(), camera="photo"))
    cx, cy = int(x) + int(w) // 2, int(y) + int(h) // 2
    holders = [
        v for v in out.vehicles if v.box.x <= cx <= v.box.x + v.box.w and v.box.y <= cy <= v.box.y + v.box.h
    ]
    assert holders, f"no vehicle holds the plate at {(cx, cy)}: {out.vehicles}"
    assert holders[0].vehicle_class in (VehicleClass.CAR, VehicleClass.TRUCK)


def test_cars_in_most_benchmark_photos(detector: VehicleDetector, data_dir: Path) -> None:
    labels = sorted((data_dir / "openalpr_benchmarks" / "us").glob("*.txt"))[:12]
    with_car = 0
    for i, label in enumerate(labels):
        name = label.read_text().split("\t")[0]
        out = detector.process(frame((label.parent / name).read_bytes(), camera=f"photos{i}"))
        with_car += any(v.vehicle_class is VehicleClass.CAR for v in out.vehicles)
    assert with_car >= 10, f"a car in only {with_car} of {len(labels)} photos"


@pytest.mark.parametrize("what", ["garbage", "truncated", "empty"])
def test_corrupt_jpeg_gives_an_empty_message_not_an_error(
    detector: VehicleDetector, bus_jpg: Path, what: str, caplog: pytest.LogCaptureFixture
) -> None:
    good = bus_jpg.read_bytes()
    bad = {"garbage": b"not a jpeg at all" * 20, "truncated": good[: len(good) // 2], "empty": b""}[what]
    with caplog.at_level(logging.WARNING, logger="detector"):
        out = detector.process(frame(bad, seq=3, camera="broken", end=True, size=(810, 1080)))
    assert out.vehicles == () and out.seq == 3 and out.camera == "broken" and out.end_of_stream
    assert "corrupt or truncated JPEG" in caplog.text
    # and the next good frame is processed as usual
    assert detector.process(frame(good, seq=4, camera="broken")).vehicles


def test_track_ids_persist_across_consecutive_video_frames(detector: VehicleDetector, data_dir: Path) -> None:
    video = data_dir / "videos" / "parkpow_cars.mp4"
    ids_of_largest = []
    for seq, jpeg in enumerate(video_jpegs(video, 8)):
        out = detector.process(frame(jpeg, seq=seq, camera="video"))
        assert out.vehicles, f"no vehicle in frame {seq}"
        largest = max(out.vehicles, key=lambda v: v.box.w * v.box.h)
        ids_of_largest.append(largest.track_id)
    assert None not in ids_of_largest
    assert len(set(ids_of_largest)) == 1, ids_of_largest


def test_cameras_have_their_own_tracks_and_end_of_stream_restarts_them(
    detector: VehicleDetector, data_dir: Path, bus_jpg: Path
) -> None:
    video = list(video_jpegs(data_dir / "videos" / "parkpow_cars.mp4", 4, start=10))
    bus = bus_jpg.read_bytes()
    a_ids, b_ids = [], []
    for seq, jpeg in enumerate(video):
        a = detector.process(frame(jpeg, seq=seq, camera="cam-a"))
        b = detector.process(frame(bus, seq=seq, camera="cam-b"))  # interleaved with another camera
        a_ids.append(max(a.vehicles, key=lambda v: v.box.w * v.box.h).track_id)
        b_ids.append({v.track_id for v in b.vehicles if v.vehicle_class is VehicleClass.BUS})
    assert len(set(a_ids)) == 1, a_ids  # camera b's frames did not disturb camera a's tracks
    assert all(ids == b_ids[0] for ids in b_ids), b_ids
    end = detector.process(frame(bus, seq=9, camera="cam-b", end=True))
    assert end.end_of_stream
    again = detector.process(frame(bus, seq=0, camera="cam-b"))
    assert min(v.track_id for v in again.vehicles) == 1  # a fresh tracker after the end of the stream


def test_small_vehicles_are_left_out(detector_settings, bus_jpg: Path) -> None:
    big_only = VehicleDetector(detector_settings.model_copy(update={"min_box_px": 400}))
    out = big_only.process(frame(bus_jpg.read_bytes(), camera="min-size"))
    assert [v.vehicle_class for v in out.vehicles] == [VehicleClass.BUS]
    assert all(min(v.box.w, v.box.h) >= 400 for v in out.vehicles)

"""The OCR stage end to end: a real VehiclesMessage (the real detector on a real photo) to a ReadsMessage."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from anpr.messages import FrameMessage, VehicleClass, VehiclesMessage
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.ocr.onnx_engine import OnnxEngine
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from tests.ocr.helpers import T0, Labelled, benchmark_photos


@pytest.fixture(scope="module")
def photo(data_dir: Path) -> Labelled:
    return next(p for p in benchmark_photos(data_dir) if p.plate == "CWW2245")


@pytest.fixture(scope="module")
def vehicles(data_dir: Path, photo: Labelled) -> VehiclesMessage:
    detector = VehicleDetector(DetectorSettings(model=str(data_dir / "models/fallback/yolo11n_int8.tflite")))
    jpeg = photo.image.read_bytes()
    h, w = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE).shape
    msg = detector.process(FrameMessage(camera="gate", seq=41, captured_at=T0, width=w, height=h, jpeg=jpeg))
    assert msg.vehicles, "the detector found no vehicle in the photo"
    return msg


def reader(ocr_settings: OcrSettings, engine: OnnxEngine, **changes: object) -> PlateReader:
    return PlateReader(ocr_settings.model_copy(update=changes), engine)


def test_a_real_car_gives_a_complete_read(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage, photo: Labelled
) -> None:
    out = reader(ocr_settings, engine).process(vehicles)
    assert (out.camera, out.seq, out.captured_at, out.end_of_stream) == ("gate", 41, T0, False)
    assert len(out.reads) == 1
    read = out.reads[0]
    car = next(v for v in vehicles.vehicles if v.box == read.vehicle_box)
    assert read.normalized == "CWW2245" and read.text == "CWW2245"
    assert read.confidence >= 0.9 and read.candidates[0].text == "CWW2245"
    assert read.engine == "onnx" and read.captured_at == T0
    assert read.vehicle_class is VehicleClass.CAR and read.track_id == car.track_id
    assert read.plate_box is not None and read.plate_box.iou(photo.plate_box) > 0.5  # frame coordinates
    snapshot = cv2.imdecode(np.frombuffer(read.snapshot_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert (
        snapshot.shape[1] == 320
        and abs(snapshot.shape[1] / snapshot.shape[0] - car.crop_box.w / car.crop_box.h) < 0.02
    )


def test_a_track_with_a_confident_read_is_not_read_again(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage
) -> None:
    stage = reader(ocr_settings, engine)
    later = vehicles.model_copy(update={"seq": 42, "captured_at": T0 + timedelta(seconds=1)})
    assert len(stage.process(vehicles).reads) == 1
    assert stage.process(later).reads == ()  # same camera, same track: skipped
    other_camera = later.model_copy(update={"camera": "exit"})
    assert len(stage.process(other_camera).reads) == 1  # same track id, other camera: another vehicle
    much_later = vehicles.model_copy(update={"captured_at": T0 + timedelta(seconds=1 + 2)})
    assert (
        len(stage.process(much_later).reads) == 1
    )  # unseen 2 s (> track_forget_s): its id may be the next car's
    assert stage.process(later.model_copy(update={"captured_at": much_later.captured_at})).reads == ()
    end = later.model_copy(
        update={"captured_at": much_later.captured_at, "vehicles": (), "end_of_stream": True}
    )
    assert stage.process(end).end_of_stream
    assert len(stage.process(much_later).reads) == 1  # the end of the stream cleared the camera's tracks


def test_a_confident_track_is_read_again_as_its_box_grows_up_to_the_budget(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage
) -> None:
    """A far car's confident read must not end its reads: the car coming closer is read again."""
    stage = reader(ocr_settings, engine, reread_growth=0.3, track_confident_reads=2)

    def frame(i: int, scale: float) -> VehiclesMessage:
        grown = tuple(
            v.model_copy(update={"box": v.box.model_copy(update={"w": round(v.box.w * scale)})})
            for v in vehicles.vehicles
        )
        return vehicles.model_copy(
            update={"seq": 41 + i, "captured_at": T0 + timedelta(seconds=i / 10), "vehicles": grown}
        )

    first = stage.process(frame(0, 1.0)).reads
    assert len(first) == 1 and first[0].confidence >= ocr_settings.confident_read
    assert stage.process(frame(1, 1.2)).reads == ()  # grew less than 30 %
    assert len(stage.process(frame(2, 1.32)).reads) == 1
    assert stage.process(frame(3, 1.32 * 1.32)).reads == ()  # two confident reads: the budget is spent


def test_a_read_below_the_confident_level_is_read_again(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage
) -> None:
    first = reader(ocr_settings, engine).process(vehicles).reads[0]
    stage = reader(ocr_settings, engine, confident_read=min(1.0, first.confidence + 1e-9))
    if first.confidence >= 1.0:
        pytest.skip("the read is certain; nothing is below it")
    assert len(stage.process(vehicles).reads) == 1
    assert len(stage.process(vehicles).reads) == 1


def test_reads_below_min_confidence_are_dropped(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage
) -> None:
    first = reader(ocr_settings, engine).process(vehicles).reads[0]
    just_above = min(1.0, first.confidence + 1e-6)
    if just_above <= first.confidence:
        pytest.skip("the read's confidence is 1.0")
    assert reader(ocr_settings, engine, min_confidence=just_above).process(vehicles).reads == ()
    assert len(reader(ocr_settings, engine, min_confidence=first.confidence).process(vehicles).reads) == 1


def test_a_corrupt_crop_is_skipped_and_the_others_still_read(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage, caplog: pytest.LogCaptureFixture
) -> None:
    good = vehicles.vehicles[0]
    broken = good.model_copy(update={"jpeg": good.jpeg[: len(good.jpeg) // 3], "track_id": 999})
    msg = vehicles.model_copy(update={"vehicles": (broken, *vehicles.vehicles), "end_of_stream": True})
    with caplog.at_level(logging.WARNING, logger="ocr"):
        out = reader(ocr_settings, engine).process(msg)
    assert "vehicle crop: corrupt or truncated JPEG" in caplog.text and "track 999" in caplog.text
    assert [r.normalized for r in out.reads] == ["CWW2245"] and out.end_of_stream


def test_no_vehicles_still_one_message(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage
) -> None:
    out = reader(ocr_settings, engine).process(vehicles.model_copy(update={"vehicles": (), "seq": 50}))
    assert out.reads == () and out.seq == 50 and out.camera == "gate"


def test_a_vehicle_without_a_track_is_read_every_time(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage
) -> None:
    untracked = vehicles.model_copy(
        update={"vehicles": tuple(v.model_copy(update={"track_id": None}) for v in vehicles.vehicles)}
    )
    stage = reader(ocr_settings, engine)
    assert len(stage.process(untracked).reads) == 1
    assert len(stage.process(untracked).reads) == 1


def test_photos_through_detector_and_reader_are_read_right_for_a_clear_majority(
    ocr_settings: OcrSettings, engine: OnnxEngine, data_dir: Path
) -> None:
    # Measured: 21 of the first 24 (87.5%) before the I/O/Q prior; all 129: python -m services.ocr.benchmark
    detector = VehicleDetector(DetectorSettings(model=str(data_dir / "models/fallback/yolo11n_int8.tflite")))
    stage = reader(ocr_settings, engine, min_confidence=0.0)
    photos = benchmark_photos(data_dir)[:24]
    right = 0
    for i, photo in enumerate(photos):
        jpeg = photo.image.read_bytes()
        h, w = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE).shape
        found = detector.process(
            FrameMessage(camera=f"p{i}", seq=0, captured_at=T0, width=w, height=h, jpeg=jpeg)
        )
        reads = stage.process(found).reads
        best = max(reads, key=lambda r: r.confidence) if reads else None
        right += best is not None and best.normalized == photo.plate
    print(f"photos read exactly through detector → cascade → OCR: {right}/{len(photos)}")
    assert right >= 18


class CountingEngine:
    """The real engine, counting the crops it is asked to read."""

    def __init__(self, engine: OnnxEngine) -> None:
        self.engine, self.name, self.calls = engine, engine.name, 0

    def read(self, crop: np.ndarray) -> object:
        self.calls += 1
        return self.engine.read(crop)


def test_a_track_whose_crops_show_no_plate_is_looked_at_less_often(
    ocr_settings: OcrSettings, engine: OnnxEngine, vehicles: VehiclesMessage
) -> None:
    """The car seen from behind a pillar: its crop has no plate on 10 frames a second. It is looked at
    on 6 of the first 20 frames; once its plate shows it is read at the next look."""
    counting = CountingEngine(engine)
    stage = PlateReader(
        ocr_settings.model_copy(
            update={"track_free_misses": 3, "track_miss_wait_s": 0.2, "track_miss_wait_max_s": 1.0}
        ),
        counting,  # type: ignore[arg-type]
    )
    car = vehicles.vehicles[0]
    _, grey = cv2.imencode(".jpg", np.full((car.crop_box.h, car.crop_box.w, 3), 127, np.uint8))
    hidden = vehicles.model_copy(update={"vehicles": (car.model_copy(update={"jpeg": grey.tobytes()}),)})
    for i in range(20):
        out = stage.process(
            hidden.model_copy(update={"seq": i, "captured_at": T0 + timedelta(seconds=i / 10)})
        )
        assert out.reads == ()
    assert counting.calls == 6  # at 0, 0.1, 0.2 s, then after 0.2, 0.4, 0.8 s
    shown = vehicles.model_copy(update={"vehicles": (car,)})
    reads = [
        stage.process(
            shown.model_copy(update={"seq": 20 + i, "captured_at": T0 + timedelta(seconds=2 + i / 10)})
        )
        for i in range(10)
    ]
    assert [i for i, r in enumerate(reads) if r.reads] == [6]  # the next look, 1 s after the one at 1.6 s
    assert reads[6].reads[0].normalized == "CWW2245"

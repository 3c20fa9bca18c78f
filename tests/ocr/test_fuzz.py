"""Fuzz: any valid vehicles messages (garbage, tiny, lying and real crops; boxes at the edge of any
JPEG; extreme track ids and times) through the OCR stage's wiring. Every message gets its one reads
message, and a real car is still read afterwards."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from anpr.bus import MemoryBus
from anpr.messages import Kind, ReadsMessage, VehiclesMessage, topic
from services.ocr.onnx_engine import OnnxEngine
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from services.ocr.wiring import wire
from tests.common.strategies import (
    fuzz_settings,
    jpegs,
    over_the_wire,
    statuses,
    vehicle_crops,
    vehicles_messages,
)


@fuzz_settings(30)
@given(data=st.data())
def test_no_valid_message_stops_the_ocr(
    data: st.DataObject, ocr_settings: OcrSettings, engine: OnnxEngine, car_vehicles: VehiclesMessage
) -> None:
    car = car_vehicles.vehicles[0]
    crops = vehicle_crops(st.one_of(jpegs, st.just(car.jpeg)))
    messages = data.draw(st.lists(vehicles_messages(crops), max_size=4))
    bus = MemoryBus()
    wire(bus, ocr_settings, PlateReader(ocr_settings, engine))
    prefix = ocr_settings.common.topic_prefix
    got: list[ReadsMessage] = []
    bus.subscribe(topic(prefix, Kind.READS, "+"), ReadsMessage, lambda _t, m: got.append(over_the_wire(m)))
    for msg in map(over_the_wire, messages):
        bus.publish(topic(prefix, Kind.VEHICLES, msg.camera), msg)
        bus.publish(topic(prefix, Kind.VEHICLES, "gate"), over_the_wire(data.draw(statuses)))  # wrong kind
    assert [(m.camera, m.seq) for m in got] == [(m.camera, m.seq) for m in messages]

    got.clear()
    valid = car_vehicles.model_copy(
        update={"camera": "gate", "vehicles": (car.model_copy(update={"track_id": None}),)}
    )
    bus.publish(topic(prefix, Kind.VEHICLES, "gate"), valid)
    assert [[r.normalized for r in m.reads] for m in got] == [["AKS4329"]]

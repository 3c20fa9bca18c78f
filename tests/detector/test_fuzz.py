"""Fuzz: any valid frames (garbage, tiny and lying JPEGs, sizes from 1 to 65535, extreme times and
sequence numbers, end of stream) through the detector's wiring. Every frame gets its one vehicles
message, and a real bus is still detected afterwards."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from anpr.bus import MemoryBus
from anpr.messages import FrameMessage, Kind, Message, VehicleClass, VehiclesMessage, topic
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.detector.wiring import wire
from tests.common.strategies import frames, fuzz_settings, jpegs, over_the_wire, statuses
from tests.detector.helpers import frame


@fuzz_settings(25)
@given(data=st.data())
def test_no_valid_message_stops_the_detector(
    data: st.DataObject, detector: VehicleDetector, detector_settings: DetectorSettings, bus_jpg: Path
) -> None:
    real = st.just(bus_jpg.read_bytes())
    messages: list[Message] = data.draw(
        st.lists(st.one_of(frames(st.one_of(jpegs, real)), statuses), max_size=6)
    )
    bus = MemoryBus()
    wire(bus, detector_settings, detector)
    prefix = detector_settings.common.topic_prefix
    got: list[VehiclesMessage] = []
    bus.subscribe(
        topic(prefix, Kind.VEHICLES, "+"), VehiclesMessage, lambda _t, m: got.append(over_the_wire(m))
    )
    for msg in map(over_the_wire, messages):
        # Nothing consumes status messages; on a frames topic one is the wrong kind, and dropped.
        name = msg.camera if isinstance(msg, FrameMessage) else "gate"
        bus.publish(topic(prefix, Kind.FRAMES, name), msg)
    sent = [(m.camera, m.seq) for m in messages if isinstance(m, FrameMessage)]
    assert [(m.camera, m.seq) for m in got] == sent

    got.clear()
    # ByteTrack confirms a track that is new after the tracker's first frame on its second frame.
    for seq in (1, 2):
        bus.publish(topic(prefix, Kind.FRAMES, "gate"), frame(bus_jpg.read_bytes(), seq=seq, camera="gate"))
    assert len(got) == 2 and any(v.vehicle_class is VehicleClass.BUS for v in got[-1].vehicles)

"""The detector wired to a bus: in-process, and through the running Mosquitto."""

from __future__ import annotations

import threading
from pathlib import Path

from anpr.bus import MemoryBus, MqttBus
from anpr.messages import Kind, VehicleClass, VehiclesMessage, topic
from anpr.settings import MqttSettings
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.detector.wiring import wire
from tests.detector.helpers import frame


def test_frames_of_any_camera_come_out_as_vehicles_of_that_camera(
    detector: VehicleDetector, detector_settings: DetectorSettings, bus_jpg: Path
) -> None:
    bus = MemoryBus()
    wire(bus, detector_settings, detector)
    prefix = detector_settings.common.topic_prefix
    got: list[tuple[str, VehiclesMessage]] = []
    bus.subscribe(topic(prefix, Kind.VEHICLES, "+"), VehiclesMessage, lambda t, m: got.append((t, m)))
    bus.publish(topic(prefix, Kind.FRAMES, "north"), frame(bus_jpg.read_bytes(), seq=5, camera="north"))
    bus.publish(topic(prefix, Kind.FRAMES, "south"), frame(b"broken", seq=6, camera="south", size=(64, 48)))
    assert [(t, m.seq) for t, m in got] == [
        (topic(prefix, Kind.VEHICLES, "north"), 5),
        (topic(prefix, Kind.VEHICLES, "south"), 6),  # a corrupt frame still moves the clock on
    ]
    assert any(v.vehicle_class is VehicleClass.BUS for v in got[0][1].vehicles)
    assert got[1][1].vehicles == ()


def test_over_mosquitto(
    mqtt_env: dict[str, str], topic_prefix: str, detector: VehicleDetector, tflite_model: Path, bus_jpg: Path
) -> None:
    settings = DetectorSettings(model=str(tflite_model))
    assert settings.common.topic_prefix == topic_prefix
    service = MqttBus(settings.mqtt, "detector-test", topic_prefix)
    wire(service, settings, detector)
    service.connect()
    stop = threading.Event()
    worker = threading.Thread(target=service.serve, args=(stop,), daemon=True)
    worker.start()
    client = MqttBus(MqttSettings(), "detector-test-client", topic_prefix)
    received: list[VehiclesMessage] = []
    done = threading.Event()

    def on_vehicles(_t: str, m: VehiclesMessage) -> None:
        received.append(m)
        done.set()

    client.subscribe(topic(topic_prefix, Kind.VEHICLES, "+"), VehiclesMessage, on_vehicles)
    client.connect()
    client_stop = threading.Event()
    client_thread = threading.Thread(target=client.serve, args=(client_stop,), daemon=True)
    client_thread.start()
    try:
        client.publish_and_wait(
            topic(topic_prefix, Kind.FRAMES, "mqtt-cam"),
            frame(bus_jpg.read_bytes(), seq=1, camera="mqtt-cam"),
        )
        assert done.wait(30), "no vehicles message came back through the broker"
    finally:
        stop.set()
        client_stop.set()
        worker.join(5)
        client_thread.join(5)
        service.close()
        client.close()
    assert received[0].camera == "mqtt-cam" and received[0].seq == 1
    assert any(v.vehicle_class is VehicleClass.BUS for v in received[0].vehicles)

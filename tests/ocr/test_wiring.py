"""The OCR stage wired to a bus: in-process, through the running Mosquitto, and as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from anpr.bus import MemoryBus, MqttBus
from anpr.messages import Kind, ReadsMessage, VehiclesMessage, topic
from anpr.settings import MqttSettings
from services.ocr.onnx_engine import OnnxEngine
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from services.ocr.wiring import wire

REPO = Path(__file__).resolve().parents[2]


def test_vehicles_of_any_camera_come_out_as_reads_of_that_camera(
    ocr_settings: OcrSettings, engine: OnnxEngine, car_vehicles: VehiclesMessage
) -> None:
    bus = MemoryBus()
    wire(bus, ocr_settings, PlateReader(ocr_settings, engine))
    prefix = ocr_settings.common.topic_prefix
    got: list[tuple[str, ReadsMessage]] = []
    bus.subscribe(topic(prefix, Kind.READS, "+"), ReadsMessage, lambda t, m: got.append((t, m)))
    bus.publish(topic(prefix, Kind.VEHICLES, "lane-1"), car_vehicles)
    empty = car_vehicles.model_copy(update={"camera": "lane-2", "seq": 9, "vehicles": ()})
    bus.publish(topic(prefix, Kind.VEHICLES, "lane-2"), empty)
    assert [(t, m.seq) for t, m in got] == [
        (topic(prefix, Kind.READS, "lane-1"), 8),
        (topic(prefix, Kind.READS, "lane-2"), 9),
    ]
    assert [r.normalized for r in got[0][1].reads] == ["AKS4329"]
    assert got[1][1].reads == ()


def test_over_mosquitto(
    mqtt_env: dict[str, str],
    topic_prefix: str,
    ocr_settings: OcrSettings,
    engine: OnnxEngine,
    car_vehicles: VehiclesMessage,
) -> None:
    settings = ocr_settings.model_copy(
        update={"common": ocr_settings.common.model_copy(update={"topic_prefix": topic_prefix})}
    )
    service = MqttBus(MqttSettings(), "ocr-test", topic_prefix)
    wire(service, settings, PlateReader(settings, engine))
    service.connect()
    client = MqttBus(MqttSettings(), "ocr-test-client", topic_prefix)
    received: list[ReadsMessage] = []
    done = threading.Event()
    client.subscribe(
        topic(topic_prefix, Kind.READS, "+"), ReadsMessage, lambda _t, m: (received.append(m), done.set())
    )
    client.connect()
    stops = [threading.Event(), threading.Event()]
    threads = [
        threading.Thread(target=b.serve, args=(s,), daemon=True)
        for b, s in zip((service, client), stops, strict=True)
    ]
    for t in threads:
        t.start()
    try:
        client.publish_and_wait(topic(topic_prefix, Kind.VEHICLES, "lane-1"), car_vehicles)
        assert done.wait(30), "no reads message came back through the broker"
    finally:
        for s in stops:
            s.set()
        for t in threads:
            t.join(5)
        service.close()
        client.close()
    assert received[0].camera == "lane-1" and [r.normalized for r in received[0].reads] == ["AKS4329"]


def test_service_exits_with_the_error_when_a_model_is_missing(
    tmp_path: Path, ocr_settings: OcrSettings
) -> None:
    env = os.environ | {
        "OCR_READER_MODEL": ocr_settings.reader_model,
        "OCR_LOCALISER_MODEL": str(tmp_path / "us.xml"),
        "ANPR_ENV_FILE": "/nonexistent/.env",
        "ANPR_ENVIRONMENT": "development",
    }
    out = subprocess.run(
        [sys.executable, "-m", "services.ocr"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2, out.stderr
    assert f"OCR_LOCALISER_MODEL={tmp_path / 'us.xml'} (plate localiser): no such file" in out.stderr


def test_bad_plate_format_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("ANPR_ENV_FILE", "/nonexistent/.env")
    with pytest.raises(ValidationError, match="unknown symbol"):
        OcrSettings(plate_formats="AAA-00X0")

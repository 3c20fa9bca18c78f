"""The overlapped run: the same events and reads as the sequential one, and a slow stage slows the
publisher instead of growing its queue."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import pytest

from anpr.messages import Kind, ReadsMessage, topic
from services.pipeline.run import run
from services.pipeline.settings import PipelineSettings
from services.pipeline.staged import StagedBus

START = datetime(2026, 11, 24, 14, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def clip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gate footage's first 4.5 s: one car drives in and is read."""
    path = tmp_path_factory.mktemp("clip") / "first_car.avi"
    cap = cv2.VideoCapture(str(data_dir / "videos" / "us_gate_sequence.mp4"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (1280, 720))
    for _ in range(45):
        ok, image = cap.read()
        assert ok
        writer.write(image)
    writer.release()
    cap.release()
    return path


def _run(clip: Path, out: Path, overlap: bool) -> tuple[list[tuple], list[tuple]]:
    result = run([str(clip)], PipelineSettings(output_dir=out, overlap=overlap), start_time=START)
    events = [(e.type.value, e.plate, e.time, e.read_count) for e in result.events]
    reads = (out / "detected_vehicles_and_plates.csv").read_text().splitlines()
    return events, [tuple(r.split(",")[2:10]) for r in reads]  # camera .. engine, not the event ids


@pytest.mark.slow  # two runs of the real models over 45 frames: 266 s on this loaded 2-core machine
def test_overlapped_stages_give_what_the_sequential_run_gives(
    models: dict[str, str], clip: Path, tmp_path: Path
) -> None:
    overlapped = _run(clip, tmp_path / "overlapped", overlap=True)
    sequential = _run(clip, tmp_path / "sequential", overlap=False)
    assert sequential[0], "the clip's car gave no event: the comparison would prove nothing"
    assert overlapped == sequential
    frames = cv2.VideoCapture(str(tmp_path / "overlapped" / "detected_vehicles_and_plates.mp4"))
    assert int(frames.get(cv2.CAP_PROP_FRAME_COUNT)) == 45  # every frame written, none lost at the end


def test_a_slow_stage_blocks_the_publisher_and_its_queue_stays_bounded() -> None:
    bus = StagedBus(depth=3)
    handled: list[int] = []
    reads_topic = topic("anpr", Kind.READS, "gate")

    def slow(_topic: str, msg: ReadsMessage) -> None:
        time.sleep(0.01)
        handled.append(msg.seq)

    with bus.stage("slow"):
        bus.subscribe(topic("anpr", Kind.READS, "+"), ReadsMessage, slow)
    began = time.monotonic()
    for seq in range(40):
        bus.publish(reads_topic, ReadsMessage(camera="gate", seq=seq, captured_at=START))
    published_in = time.monotonic() - began
    worker = bus.workers["slow"]
    assert worker.high_water <= 3
    assert published_in >= (40 - 3 - 1) * 0.01  # the publisher waited for the stage
    bus.close()
    assert handled == list(range(40))  # all of them, in order
    assert not any(t.name == "stage-slow" for t in threading.enumerate())


def test_a_failing_handler_costs_one_message_not_the_stage(caplog: pytest.LogCaptureFixture) -> None:
    bus = StagedBus(depth=2)
    handled: list[int] = []

    def picky(_topic: str, msg: ReadsMessage) -> None:
        if msg.seq == 1:
            raise ValueError("bad message")
        handled.append(msg.seq)

    with bus.stage("picky"):
        bus.subscribe(topic("anpr", Kind.READS, "+"), ReadsMessage, picky)
    for seq in range(3):
        bus.publish(
            topic("anpr", Kind.READS, "gate"), ReadsMessage(camera="gate", seq=seq, captured_at=START)
        )
    bus.close()
    assert handled == [0, 2] and "handler failed" in caplog.text

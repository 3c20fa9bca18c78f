"""The gate-camera sequence of US cars: the 30-second rule must produce the 9 listed events, in one
process and as four processes over the running Mosquitto alike."""

from __future__ import annotations

import contextlib
import csv
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from anpr.bus import MqttBus
from anpr.messages import EventMessage, Kind, ServiceState, StatusMessage, topic
from anpr.settings import MqttSettings
from services.pipeline.run import RunResult, run
from services.pipeline.settings import PipelineSettings
from tests.pipeline.gate_data import GATE_MAX_FPS, GATE_START, Expected, expected_gate_events, model_env

pytestmark = pytest.mark.slow  # whole videos through the real models: minutes on a CPU

REPO = Path(__file__).resolve().parents[2]
TOLERANCE_S = 0.5  # one or two frames at the processed rate


@pytest.fixture(scope="module")
def gate_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunResult]:
    out = tmp_path_factory.mktemp("gate")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in (
            model_env(data_dir)
            | {"AGGREGATOR_STATE_FILE": str(out / "state.json"), "CAPTURE_MAX_FPS": str(GATE_MAX_FPS)}
        ).items():
            mp.setenv(k, v)
        settings = PipelineSettings(output_dir=out)
        yield run([str(data_dir / "videos" / "us_gate_sequence.mp4")], settings, start_time=GATE_START)


def _matches(e: EventMessage, x: Expected) -> bool:
    lo = x.first.timestamp() - TOLERANCE_S
    hi = x.last.timestamp() + TOLERANCE_S
    return e.plate == x.plate and e.type.value == x.event and lo <= e.time.timestamp() <= hi


def _why_missed(x: Expected, events: list[EventMessage], reads_csv: Path) -> str:
    same_plate = [e for e in events if e.plate == x.plate]
    in_window = Counter()
    with open(reads_csv) as fh:
        for r in csv.DictReader(fh):
            t = r["time_utc"]
            from datetime import datetime

            ts = datetime.fromisoformat(t).timestamp()
            if x.first.timestamp() - TOLERANCE_S <= ts <= x.last.timestamp() + TOLERANCE_S:
                in_window[r["plate_normalized"]] += 1
    if not in_window:
        return "no plate read during the sighting (vehicle or plate not found)"
    if x.plate not in in_window:
        return f"plate misread during the sighting: {dict(in_window.most_common(4))}"
    if same_plate:
        return "event of another type or time: " + ", ".join(
            f"{e.type.value}@{e.time:%H:%M:%S}" for e in same_plate
        )
    return f"read {in_window[x.plate]} times but no event (reads merged into another plate?)"


def test_gate_sequence_yields_the_listed_events(gate_run: RunResult, data_dir: Path) -> None:
    expected = expected_gate_events(data_dir)
    events = gate_run.events
    missed = [x for x in expected if not any(_matches(e, x) for e in events)]
    report = "\n".join(
        f"  missed {x.event} {x.plate} ({x.first:%H:%M:%S}-{x.last:%H:%M:%S}): "
        f"{_why_missed(x, events, gate_run.output_dir / 'detected_vehicles_and_plates.csv')}"
        for x in missed
    )
    extra = [e for e in events if not any(_matches(e, x) for x in expected)]
    print(f"\ngate sequence: {len(expected) - len(missed)}/{len(expected)} events found, {len(extra)} extra")
    print(report)
    for e in extra:
        print(
            f"  extra {e.type.value} {e.plate} at {e.time:%H:%M:%S} ({e.confidence:.2f}, {e.read_count} reads)"
        )
    assert len(expected) - len(missed) >= 8, "\n" + report
    assert len(extra) <= 1, f"unexpected events: {[(e.type.value, e.plate) for e in extra]}"


def test_gate_outputs_are_written(gate_run: RunResult) -> None:
    import cv2

    video = gate_run.output_dir / "detected_vehicles_and_plates.mp4"
    cap = cv2.VideoCapture(str(video))
    assert cap.isOpened()
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == gate_run.frames
    ok, frame = cap.read()
    assert ok and frame.shape[1] == 1280
    with open(gate_run.output_dir / "detected_vehicles_and_plates.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == gate_run.reads > 0
    assert sum(1 for r in rows if r["event"]) == len(gate_run.events)
    assert all(r["time"].endswith(("-06:00", "-05:00")) for r in rows)  # the lot's zone, America/Chicago


@pytest.mark.slow
def test_four_processes_over_mosquitto_give_the_same_events(
    gate_run: RunResult, data_dir: Path, mqtt_broker: tuple[str, int], topic_prefix: str, tmp_path: Path
) -> None:
    env = (
        os.environ
        | model_env(data_dir)
        | {
            "MQTT_HOST": mqtt_broker[0],
            "MQTT_PORT": str(mqtt_broker[1]),
            "ANPR_TOPIC_PREFIX": topic_prefix,
            "AGGREGATOR_STATE_FILE": str(tmp_path / "state.json"),
            "CAPTURE_MAX_FPS": str(GATE_MAX_FPS),
            "CAPTURE_SOURCE": str(data_dir / "videos" / "us_gate_sequence.mp4"),
            "CAPTURE_START_TIME": GATE_START.isoformat(),
            "CAPTURE_PACE": "fast",
            "PYTHONUNBUFFERED": "1",
        }
    )
    received: list[EventMessage] = []
    online: set[str] = set()
    listener = MqttBus(MqttSettings(host=mqtt_broker[0], port=mqtt_broker[1]), "test-listener", topic_prefix)
    listener.subscribe(topic(topic_prefix, Kind.EVENTS), EventMessage, lambda _t, e: received.append(e))
    listener.subscribe(
        topic(topic_prefix, Kind.STATUS, "+"),
        StatusMessage,
        lambda _t, m: online.add(m.service) if m.state is ServiceState.ONLINE else online.discard(m.service),
    )
    stop = threading.Event()
    listener.connect()
    serving = threading.Thread(target=listener.serve, args=(stop,), daemon=True)
    serving.start()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    logs = contextlib.ExitStack()
    try:
        for name in ("aggregator", "ocr", "detector"):
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=logs.enter_context(open(tmp_path / f"{name}.log", "wb")),  # noqa: SIM115
            )
        # Frames published before a consumer subscribed would be lost: wait until all say they are online.
        deadline = time.monotonic() + 180
        while not {"aggregator", "ocr", "detector"} <= online and time.monotonic() < deadline:
            time.sleep(0.2)
        assert {"aggregator", "ocr", "detector"} <= online, f"services online: {online}"
        capture = subprocess.run(
            [sys.executable, "-m", "services.capture"], cwd=REPO, env=env, capture_output=True, timeout=1200
        )
        assert capture.returncode == 0, capture.stderr.decode()[-3000:]
        deadline = time.monotonic() + 60
        while len(received) < len(gate_run.events) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        for name, p in procs.items():
            assert p.poll() is None, f"{name} died: {(tmp_path / f'{name}.log').read_text()[-3000:]}"
    finally:
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            p.wait(30)
        stop.set()
        serving.join(5)
        listener.close()
        logs.close()

    def key(e: EventMessage) -> tuple[str, str, float]:
        return e.plate, e.type.value, round(e.time.timestamp(), 3)

    assert sorted(map(key, received)) == sorted(map(key, gate_run.events))

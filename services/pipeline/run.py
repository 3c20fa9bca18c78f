"""Run the four edge stages in one process over an in-process bus.

Each stage is wired exactly as its own service wires it to MQTT; only the bus differs. With
`overlap` (the default) each stage runs on its own thread behind a bounded queue (staged.py), and the
capture loop goes on reading while the stages work; without it, publishing a frame returns after
every stage has handled it, so the recorder can draw it right away for the window.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from anpr.bus import MemoryBus, MqttBus
from anpr.messages import EventMessage, FrameMessage, Kind, topic
from anpr.plates import parse_formats
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from services.aggregator.wiring import publish_pending
from services.aggregator.wiring import wire as wire_aggregator
from services.capture.capture import Capture
from services.capture.settings import CaptureSettings
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.detector.wiring import wire as wire_detector
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from services.ocr.wiring import wire as wire_ocr
from services.pipeline.recorder import Recorder
from services.pipeline.settings import PipelineSettings
from services.pipeline.staged import StagedBus

log = logging.getLogger("pipeline")
HOLD_MARGIN_S = 5.0  # the video lags the footage by the aggregator's window plus this: see recorder


@dataclass
class RunResult:
    events: list[EventMessage]
    reads: int
    frames: int
    seconds: float
    output_dir: Path
    files: list[Path] = field(default_factory=list)


@dataclass
class Stages:
    """The stages' settings; each is read from the environment unless a caller passes its own."""

    detector: DetectorSettings | None = None
    ocr: OcrSettings | None = None
    aggregator: AggregatorSettings | None = None
    capture_overrides: dict[str, object] = field(default_factory=dict)

    def resolved(
        self, sources: Sequence[str], output_dir: Path
    ) -> tuple[DetectorSettings, OcrSettings, AggregatorSettings]:
        aggregator = self.aggregator
        if aggregator is None:
            overrides = {}
            if all(Path(s).is_file() for s in sources):
                # A run over files is self-contained: the same footage gives the same events every
                # time. A camera run keeps who is inside in AGGREGATOR_STATE_FILE across restarts.
                state = output_dir / "aggregator_state.json"
                state.unlink(missing_ok=True)
                overrides["state_file"] = state
            aggregator = AggregatorSettings(**overrides)
        return self.detector or DetectorSettings(), self.ocr or OcrSettings(), aggregator


def run(
    sources: Sequence[str],
    settings: PipelineSettings,
    stages: Stages | None = None,
    *,
    start_time: datetime | None = None,
    gap_s: float = 0.0,
    on_frame: Callable[[FrameMessage, int | None, np.ndarray | None], bool] | None = None,
    stop: threading.Event | None = None,
) -> RunResult:
    """Play `sources` one after the other as one footage: the second starts `gap_s` after the first
    ends, and so on. `on_frame(frame, total, picture)` may return False to stop early."""
    stages = stages or Stages()
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    detector_settings, ocr_settings, aggregator_settings = stages.resolved(sources, settings.output_dir)
    prefix = settings.common.topic_prefix
    bus = StagedBus(settings.queue_depth) if settings.overlap and not settings.show else None
    staged = bus.stage if bus is not None else _inline
    bus = bus or MemoryBus()
    aggregator = Aggregator(aggregator_settings)
    with staged("detector"):
        wire_detector(bus, detector_settings, VehicleDetector(detector_settings))
    with staged("ocr"):
        wire_ocr(bus, ocr_settings, PlateReader(ocr_settings))
    with staged("aggregator"):
        wire_aggregator(bus, aggregator_settings, aggregator)
    # connected before the recorder opens its files: a broker that refuses leaves no half-begun run behind
    forwarder = _event_forwarder(settings) if settings.forward_events else None
    recorder = Recorder(
        settings.output_dir,
        settings.common.timezone,
        parse_formats(ocr_settings.plate_formats),
        write_video=settings.write_video,
        video_preset=settings.video_preset,
        banner_s=settings.event_banner_s,
        hold_s=aggregator_settings.window_s + HOLD_MARGIN_S,
        live_view=settings.show,
    )
    with staged("recorder"):
        recorder.attach(bus, prefix)
    if forwarder is not None:  # after the recorder: events.csv first, whatever the broker does
        _forward_events(bus, forwarder, prefix)

    began = time.monotonic()
    frames, seq, next_start = 0, 0, start_time
    try:
        for i, source in enumerate(sources):
            last = i == len(sources) - 1
            overrides = {**stages.capture_overrides, "source": source}
            if next_start is not None:
                overrides["start_time"] = next_start
            capture = Capture(CaptureSettings(**overrides), first_seq=seq)
            recorder.fps = capture.fps or recorder.fps
            frame = None
            for frame in capture.frames():
                if frame.end_of_stream and not last:
                    frame = frame.model_copy(update={"end_of_stream": False})  # one footage, not two
                bus.publish(topic(prefix, Kind.FRAMES, frame.camera), frame)
                image = None
                if isinstance(bus, StagedBus):
                    bus.call_on("recorder", recorder.frame_done, frame)
                else:
                    image = recorder.frame_done(frame)
                frames += 1
                stopping = stop is not None and stop.is_set()
                if stopping or (on_frame and not on_frame(frame, capture.total_frames, image)):
                    raise _Stopped
            if frame is not None:
                seq = frame.seq + 1
                next_start = frame.captured_at + timedelta(seconds=gap_s + 1.0 / (capture.fps or 10.0))
    except (_Stopped, KeyboardInterrupt):
        log.warning("stopped early; closing the sightings seen so far")
        _drain(bus)
        aggregator.flush()
        publish_pending(bus, aggregator_settings, aggregator)
    finally:
        _drain(bus, close=True)
        recorder.close()
        if forwarder is not None:
            forwarder.close("run finished")
    return RunResult(
        events=list(recorder.events),
        reads=recorder.read_count,
        frames=frames,
        seconds=time.monotonic() - began,
        output_dir=settings.output_dir,
        files=[p for p in sorted(settings.output_dir.iterdir()) if p.is_file()],
    )


class _Stopped(Exception):
    pass


@contextlib.contextmanager
def _inline(_stage: str) -> Iterator[None]:
    yield  # sequential run: every handler on the publisher's thread


def _drain(bus: MemoryBus, close: bool = False) -> None:
    """Let every stage finish what it has been given (then stop its thread, with `close`)."""
    if not isinstance(bus, StagedBus):
        return
    if close:
        bus.close()
    else:
        bus.drain()


def _event_forwarder(settings: PipelineSettings) -> MqttBus:
    """Live events for MQTT subscribers: every event of the run is also published to the broker."""
    mqtt_bus = MqttBus(settings.mqtt, "pipeline", settings.common.topic_prefix)
    mqtt_bus.connect()
    return mqtt_bus


def _forward_events(bus: MemoryBus, forwarder: MqttBus, prefix: str) -> None:
    bus.subscribe(topic(prefix, Kind.EVENTS), EventMessage, lambda t, e: forwarder.publish_and_wait(t, e))

"""How fast the all-in-one run keeps up with footage, and whether its shortcuts cost an event.

    python -m services.pipeline.benchmark VIDEO [--expected CSV] [--recompute] [--start-time T]

The video goes through the product's own path (`services.pipeline.run.run`, settings from the
environment as `run.sh` reads them). Printed: frames/s, real-time factor (footage s / processing s;
the start-up, model loading and the first frame, is shown apart), milliseconds per frame of each
stage (summed over threads, so they can exceed the wall time when stages overlap), CPU seconds against
wall seconds (2.0 on two busy cores), peak RSS, and the events compared with a reference run of the
same footage that detects and reads every frame (no motion gate, no region, no read budget). The
reference is slow; its events are cached under `~/.cache/anpr/benchmark/`, keyed by the video's hash
and the settings that decide events (`--recompute` redoes it). `--expected` also scores the events
against an expected-events CSV (`plate,event,first_seen_s,last_seen_s`) as the tests do.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import json
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

from anpr.heap import keep_frames_off_the_heap
from anpr.logs import setup_logging
from services.aggregator.sightings import Aggregator
from services.capture.capture import Capture
from services.detector import detector as detector_module
from services.detector.detector import VehicleDetector
from services.detector.settings import DetectorSettings
from services.ocr import localise
from services.ocr.reader import PlateReader
from services.ocr.settings import OcrSettings
from services.pipeline.inputs import iso_time
from services.pipeline.recorder import Recorder
from services.pipeline.run import RunResult, Stages, run
from services.pipeline.settings import PipelineSettings

DEFAULT_START = datetime(2026, 11, 24, 14, 0, 0, tzinfo=timezone.utc)
CACHE = Path.home() / ".cache" / "anpr" / "benchmark"
TOLERANCE_S = 0.5  # one or two frames, as the whole-video tests allow
STAGES = ("decode", "detector", "tracker", "plate localiser", "OCR", "aggregator", "recorder")


@dataclass(frozen=True)
class Event:
    plate: str
    type: str
    time: float  # seconds from the first frame
    first_seen: float
    last_seen: float


class StageClock:
    """Seconds spent in chosen methods, patched on their classes for the length of one run."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def timing(self, cls: type | ModuleType, name: str, label: str) -> Iterator[None]:
        original = cls.__dict__[name]
        seconds = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - began

        setattr(cls, name, timed)
        try:
            yield
        finally:
            setattr(cls, name, original)

    @contextlib.contextmanager
    def timing_iterator(self, cls: type, name: str, label: str) -> Iterator[None]:
        """A generator method: the time spent producing each item."""
        original = cls.__dict__[name]
        seconds = self.seconds

        def timed(*args: Any, **kwargs: Any) -> Iterator[Any]:
            items = original(*args, **kwargs)
            while True:
                began = time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    seconds[label] += time.perf_counter() - began
                yield item

        setattr(cls, name, timed)
        try:
            yield
        finally:
            setattr(cls, name, original)

    def per_stage(self) -> dict[str, float]:
        """Exclusive seconds per stage: nested timings are taken out of their callers."""
        s = self.seconds
        return {
            "decode": s["capture"] + s["jpeg decode"] + s["preview"],
            "detector": s["detect"],
            "tracker": s["track"] - s["detect"],
            "plate localiser": s["localise"],
            "OCR": s["read"] - s["localise"],
            "aggregator": s["aggregate"],
            "recorder": s["record"],
        }


@contextlib.contextmanager
def instrumented(clock: StageClock) -> Iterator[None]:
    timings: list[tuple[type | ModuleType, str, str]] = [
        (VehicleDetector, "_decode", "jpeg decode"),
        (detector_module, "decode_preview", "preview"),  # the motion gate's small decode
        (VehicleDetector, "_detect", "detect"),
        (VehicleDetector, "_track", "track"),
        (PlateReader, "process", "read"),
        (Aggregator, "process", "aggregate"),
        *((Recorder, name, "record") for name in ("frame_done", "_on_vehicles", "_on_reads", "_on_event")),
        (Recorder, "close", "record"),
        *(
            (cls, "locate", "localise")
            for cls in (localise.CascadeLocaliser, localise.YoloLocaliser, localise.OpenImageModelsLocaliser)
        ),
    ]
    with contextlib.ExitStack() as stack:
        stack.enter_context(clock.timing_iterator(Capture, "_file_frames", "capture"))
        for cls, name, label in timings:
            stack.enter_context(clock.timing(cls, name, label))
        yield


@dataclass
class Measured:
    result: RunResult
    fps: float
    startup_s: float
    processing_s: float
    cpu_s: float
    stage_s: dict[str, float]
    peak_rss_mb: float


def measure(video: Path, start: datetime, stages: Stages, output: Path) -> Measured:
    """One run of `video` through the product's path, with start-up told apart from processing."""
    clock = StageClock()
    marks: dict[str, float] = {}

    def on_frame(frame: Any, _total: int | None, _image: Any) -> bool:
        if "first" not in marks:
            marks["first"], marks["cpu"] = time.monotonic(), _cpu_s()
        return True

    began = time.monotonic()
    settings = PipelineSettings(output_dir=output, show=False)
    with instrumented(clock):
        result = run([str(video)], settings, stages, start_time=start, on_frame=on_frame)
    ended = time.monotonic()
    return Measured(
        result=result,
        fps=_video_fps(video),
        startup_s=marks["first"] - began,
        processing_s=ended - marks["first"],
        cpu_s=_cpu_s() - marks["cpu"],
        stage_s=clock.per_stage(),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def _video_fps(video: Path) -> float:
    import cv2

    cap = cv2.VideoCapture(str(video))
    try:
        return float(cap.get(cv2.CAP_PROP_FPS)) or 10.0
    finally:
        cap.release()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def events_of(result: RunResult, start: datetime) -> list[Event]:
    def s(t: datetime) -> float:
        return round((t - start).total_seconds(), 3)

    return [
        Event(e.plate, e.type.value, s(e.time), s(e.first_seen), s(e.last_seen))
        for e in sorted(result.events, key=lambda e: e.time)
    ]


# OCR settings that change nothing in the reference, which never waits between a track's looks
IDLE_WITHOUT_MISS_WAIT = {"track_free_misses", "track_miss_wait_max_s", "track_miss_growth"}


def reference_stages(stages: Stages, state_dir: Path) -> Stages:
    """The same settings, looking at everything: every frame detected, every vehicle looked at until
    its track has a confident read (no wait between a plateless track's looks)."""
    assert stages.detector and stages.aggregator and stages.ocr
    return Stages(
        detector=stages.detector.model_copy(update=DetectorSettings.every_frame()),
        ocr=stages.ocr.model_copy(update={"track_miss_wait_s": 0.0}),
        aggregator=stages.aggregator.model_copy(update={"state_file": state_dir / "aggregator_state.json"}),
    )


def reference_events(
    video: Path, start: datetime, stages: Stages, recompute: bool
) -> tuple[list[Event], Path]:
    key = _cache_key(video, start, stages)
    path = CACHE / f"{video.stem}-{key}.json"
    if path.is_file() and not recompute:
        return [Event(**e) for e in json.loads(path.read_text())], path
    print(f"reference run (every frame; cached in {path}) ...", file=sys.stderr)
    with tempfile.TemporaryDirectory() as out:
        ref = reference_stages(stages, Path(out))
        result = run(
            [str(video)], PipelineSettings(output_dir=Path(out), write_video=False), ref, start_time=start
        )
    events = events_of(result, start)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(e) for e in events], indent=1))
    return events, path


def _cache_key(video: Path, start: datetime, stages: Stages) -> str:
    digest = hashlib.sha256()
    with open(video, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    ref = reference_stages(stages, Path())
    assert ref.detector and ref.ocr and ref.aggregator
    decisive = {
        "start": start.isoformat(),
        "detector": ref.detector.model_dump(
            mode="json", exclude={"common", "threads", *DetectorSettings.SHORTCUTS}
        ),
        "ocr": ref.ocr.model_dump(mode="json", exclude={"common", *IDLE_WITHOUT_MISS_WAIT}),
        "aggregator": ref.aggregator.model_dump(mode="json", exclude={"common", "state_file", "outbox_file"}),
    }
    digest.update(json.dumps(decisive, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def inside(e: Event, first: float, last: float) -> bool:
    return first - TOLERANCE_S <= e.time <= last + TOLERANCE_S


def compare(
    events: list[Event], reference: list[Event], either_way: bool = True
) -> tuple[list[Event], list[Event]]:
    """(lost, extra): reference events with no event of the same sighting, and events with none in the
    reference. Same sighting: the same plate and type, and the event's time inside the reference's
    sighting or, `either_way`, the reference's time inside the event's (the best read of a sighting
    may fall on another frame when fewer frames are looked at). Expected events: only the first."""

    def same(e: Event, r: Event) -> bool:
        return (
            e.plate == r.plate
            and e.type == r.type
            and (
                inside(e, r.first_seen, r.last_seen) or (either_way and inside(r, e.first_seen, e.last_seen))
            )
        )

    lost = [r for r in reference if not any(same(e, r) for e in events)]
    extra = [e for e in events if not any(same(e, r) for r in reference)]
    return lost, extra


def expected_events(csv_path: Path) -> list[Event]:
    with open(csv_path) as fh:
        return [
            Event(
                r["plate"],
                r["event"],
                float(r["first_seen_s"]),
                float(r["first_seen_s"]),
                float(r["last_seen_s"]),
            )
            for r in csv.DictReader(fh)
        ]


def report(
    m: Measured, events: list[Event], reference: list[Event], ref_path: Path, expected: list[Event] | None
) -> list[str]:
    frames = m.result.frames
    footage_s = frames / m.fps
    lines = [
        f"frames             {frames} ({footage_s:.1f} s of footage at {m.fps:.2f} fps)",
        f"start-up           {m.startup_s:.1f} s (models, first frame; not in the figures below)",
        f"processing         {m.processing_s:.1f} s, {frames / m.processing_s:.1f} frames/s",
        f"real-time factor   {footage_s / m.processing_s:.2f}x",
        f"CPU                {m.cpu_s:.1f} s in {m.processing_s:.1f} s wall = {m.cpu_s / m.processing_s:.2f} cores busy",
        f"peak RSS           {m.peak_rss_mb:.0f} MB",
        "ms per frame       " + ", ".join(f"{k} {1000 * m.stage_s[k] / frames:.1f}" for k in STAGES),
    ]
    lost, extra = compare(events, reference)
    lines.append(
        f"events             {len(events)}; reference (every frame) {len(reference)}: "
        f"{len(lost)} lost, {len(extra)} extra  [{ref_path}]"
    )
    lines += [f"  lost  {_shown(r)}" for r in lost] + [f"  extra {_shown(e)}" for e in extra]
    if expected is not None:
        missed, wrong = compare(events, expected, either_way=False)  # as the whole-video tests count
        lines.append(
            f"expected           {len(expected) - len(missed)}/{len(expected)} found, {len(wrong)} extra"
        )
        lines += [f"  missed {_shown(x)}" for x in missed] + [f"  extra  {_shown(e)}" for e in wrong]
    return lines


def _shown(e: Event) -> str:
    return f"{e.type} {e.plate} at {e.time:.1f} s (sighting {e.first_seen:.1f}-{e.last_seen:.1f} s)"


def main(argv: list[str] | None = None) -> int:
    keep_frames_off_the_heap()  # as the run does
    p = argparse.ArgumentParser(
        prog="python -m services.pipeline.benchmark", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("video", type=Path)
    p.add_argument(
        "--expected", type=Path, metavar="CSV", help="expected events: plate,event,first_seen_s,last_seen_s"
    )
    p.add_argument("--recompute", action="store_true", help="redo the cached reference run")
    p.add_argument(
        "--start-time", type=iso_time, default=DEFAULT_START, help="time of the first frame (ISO 8601)"
    )
    p.add_argument("--output", type=Path, help="keep the run's files here (default: a temporary folder)")
    args = p.parse_args(argv)
    if not args.video.is_file():
        p.error(
            f"VIDEO {args.video}: no such file; give a video file, e.g. ../shared/data/videos/parkpow_cars.mp4"
        )
    if args.expected is not None and not args.expected.is_file():
        p.error(f"--expected {args.expected}: no such file; give the video's events CSV")
    setup_logging("WARNING", False)
    with tempfile.TemporaryDirectory() as tmp:
        output = args.output or Path(tmp)
        stages = Stages(DetectorSettings(), OcrSettings(), _aggregator_settings(output))
        measured = measure(args.video, args.start_time, stages, output)
        reference, ref_path = reference_events(args.video, args.start_time, stages, args.recompute)
    expected = expected_events(args.expected) if args.expected else None
    print(f"{args.video}")
    for line in report(measured, events_of(measured.result, args.start_time), reference, ref_path, expected):
        print(line)
    return 0


def _aggregator_settings(output: Path) -> Any:
    from services.aggregator.settings import AggregatorSettings

    return AggregatorSettings(state_file=output / "aggregator_state.json")


if __name__ == "__main__":
    raise SystemExit(main())

"""What a person gets from a run over footage: the annotated video and the CSV files.

The recorder listens to the bus like any other consumer (vehicles, reads, events). An event is
decided only when its sighting closes, up to the aggregator's window after the car has gone, so the
video is written `hold_s` of footage behind: each mark is drawn from the frame at the event's own
time (its best read), when the car is at the gate, not seconds later.

A camera run may last for days: each read's row goes to the reads CSV as it arrives and each event's
row to `events.csv` as it is decided, so a crash loses neither, and memory does not grow with the reads.
A read's `event` columns are known only when its sighting closes, which has no bound on a car that
waits; they are filled in when the run ends, from the file on disk and the events (kept without their
snapshots), and the file replaced whole.
"""

from __future__ import annotations

import csv
import logging
import os
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np
import pytz

from anpr.bus import Bus
from anpr.images import decode_jpeg
from anpr.messages import (
    Box,
    EventMessage,
    EventType,
    FrameMessage,
    Kind,
    PlateRead,
    ReadsMessage,
    VehicleClass,
    VehiclesMessage,
    topic,
)
from anpr.plates import PlateFormat, display
from services.pipeline.video import VideoWriter

log = logging.getLogger("pipeline.recorder")

VIDEO_NAME = "detected_vehicles_and_plates.mp4"
READS_CSV_NAME = "detected_vehicles_and_plates.csv"
EVENTS_CSV_NAME = "events.csv"
READS_COLUMNS = [
    "time",
    "time_utc",
    "camera",
    "frame",
    "plate",
    "plate_normalized",
    "confidence",
    "vehicle_class",
    "track_id",
    "engine",
    "event",
    "event_id",
]
EVENTS_COLUMNS = [
    "time",
    "time_utc",
    "type",
    "plate",
    "plate_normalized",
    "confidence",
    "camera",
    "vehicle_class",
    "read_count",
    "first_seen",
    "last_seen",
    "event_id",
]
GREEN, AMBER, WHITE, BLACK = (60, 200, 60), (0, 190, 255), (255, 255, 255), (0, 0, 0)
TRACK_LABELS_KEPT = 256


@dataclass
class _Banner:
    text: str
    color: tuple[int, int, int]
    since: datetime  # the event's time: its best read
    until: datetime


@dataclass
class _Held:
    frame: FrameMessage


@dataclass(frozen=True)
class _Vehicle:
    box: Box
    vehicle_class: VehicleClass
    track_id: int | None


@dataclass(frozen=True)
class _Read:
    """A read as the CSV and the drawing need it: no snapshot, no candidates."""

    camera: str
    seq: int
    captured_at: datetime
    normalized: str
    confidence: float
    vehicle_class: VehicleClass
    track_id: int | None
    engine: str
    plate_box: Box | None

    @classmethod
    def of(cls, camera: str, seq: int, r: PlateRead) -> _Read:
        return cls(
            camera, seq, r.captured_at, r.normalized, r.confidence, r.vehicle_class, r.track_id, r.engine,
            r.plate_box,
        )  # fmt: skip


class Recorder:
    def __init__(
        self,
        output_dir: Path,
        tz_name: str,
        formats: tuple[PlateFormat, ...],
        *,
        write_video: bool = True,
        video_preset: str = "ultrafast",
        banner_s: float = 3.0,
        fps: float = 10.0,
        hold_s: float = 35.0,
        live_view: bool = False,
    ) -> None:
        self.fps = fps
        self.output_dir = output_dir
        self.tz = pytz.timezone(tz_name)
        self.formats = formats
        self.write_video = write_video
        self.video_preset = video_preset
        self.banner_s = banner_s
        self.read_count = 0
        self.events: list[EventMessage] = []  # without their snapshots
        self._vehicles: dict[tuple[str, int], tuple[_Vehicle, ...]] = {}
        self._frame_reads: dict[tuple[str, int], tuple[_Read, ...]] = {}
        self._track_labels: OrderedDict[tuple[str, int], str] = OrderedDict()
        self._banners: list[_Banner] = []
        self._held: deque[_Held] = deque()
        self.hold_s = hold_s
        self.live_view = live_view  # also draw each frame at once, for the window
        self._writer: VideoWriter | None = None
        self.frames_written = 0
        output_dir.mkdir(parents=True, exist_ok=True)
        self._reads_file, self._reads_csv = _open_csv(output_dir / READS_CSV_NAME, READS_COLUMNS)
        self._events_file, self._events_csv = _open_csv(output_dir / EVENTS_CSV_NAME, EVENTS_COLUMNS)

    # -- bus side ------------------------------------------------------------------------------------
    def attach(self, bus: Bus, prefix: str) -> None:
        bus.subscribe(topic(prefix, Kind.VEHICLES, "+"), VehiclesMessage, self._on_vehicles)
        bus.subscribe(topic(prefix, Kind.READS, "+"), ReadsMessage, self._on_reads)
        bus.subscribe(topic(prefix, Kind.EVENTS), EventMessage, self._on_event)

    def _on_vehicles(self, _topic: str, msg: VehiclesMessage) -> None:
        if self.write_video or self.live_view:  # kept until the frame is drawn
            # what is drawn alone: the crops' JPEGs would be held for hold_s too
            self._vehicles[(msg.camera, msg.seq)] = tuple(
                _Vehicle(v.box, v.vehicle_class, v.track_id) for v in msg.vehicles
            )

    def _on_reads(self, _topic: str, msg: ReadsMessage) -> None:
        reads = tuple(_Read.of(msg.camera, msg.seq, r) for r in msg.reads)
        if self.write_video or self.live_view:
            self._frame_reads[(msg.camera, msg.seq)] = reads
        self.read_count += len(reads)
        self._reads_csv.writerows(self._read_row(r) for r in reads)
        self._reads_file.flush()
        for read in reads:
            if read.track_id is not None:
                key = (msg.camera, read.track_id)
                self._track_labels[key] = f"{display(read.normalized, self.formats)} {read.confidence:.2f}"
                self._track_labels.move_to_end(key)
                while len(self._track_labels) > TRACK_LABELS_KEPT:
                    self._track_labels.popitem(last=False)

    def _on_event(self, _topic: str, event: EventMessage) -> None:
        event = event.model_copy(update={"snapshot_jpeg": None})
        self.events.append(event)
        self._events_csv.writerow(self._event_row(event))
        self._events_file.flush()
        color = GREEN if event.type is EventType.ENTRY else AMBER
        local = event.time.astimezone(self.tz).strftime("%H:%M:%S")
        text = f"{event.type.value.upper()} {display(event.plate, self.formats)} at {local}"
        # Timed by the footage: from the event's own frame for banner_s seconds; if that frame has been
        # written already (a sighting longer than hold_s), from the oldest frame still held.
        since = max(event.time, self._held[0].frame.captured_at) if self._held else event.time
        self._banners.append(_Banner(text, color, since, since + timedelta(seconds=self.banner_s)))
        log.info(
            "event: %s %s (%.2f, %d reads, %s)",
            event.type.value,
            event.plate,
            event.confidence,
            event.read_count,
            event.time.astimezone(self.tz).isoformat(),
        )

    # -- per frame -----------------------------------------------------------------------------------
    def frame_done(self, frame: FrameMessage) -> np.ndarray | None:
        """Hold `frame` with what the stages found in it; write the frames now older than `hold_s`.
        Returns the frame drawn at once when `live_view` (None otherwise, or if undecodable)."""
        held = _Held(frame)
        shown = self._draw(held) if self.live_view else None
        if not self.write_video:
            self._forget(frame)
            return shown
        self._held.append(held)
        while (
            self._held and (frame.captured_at - self._held[0].frame.captured_at).total_seconds() > self.hold_s
        ):
            self._write_held(self._held.popleft())
        return shown

    def _forget(self, frame: FrameMessage) -> None:
        self._vehicles.pop((frame.camera, frame.seq), None)
        self._frame_reads.pop((frame.camera, frame.seq), None)

    def _write_held(self, held: _Held) -> None:
        image = self._draw(held)
        self._forget(held.frame)
        if image is None:
            log.warning(
                "frame %s/%d cannot be decoded; not written to the video", held.frame.camera, held.frame.seq
            )
            return
        if self._writer is None:
            h, w = image.shape[:2]
            self._writer = VideoWriter(self.output_dir / VIDEO_NAME, self.fps, (w, h), self.video_preset)
        self._writer.write(image)
        self.frames_written += 1
        self._banners = [b for b in self._banners if b.until >= held.frame.captured_at]

    def _draw(self, held: _Held) -> np.ndarray | None:
        # What the stages found in it: they may still be at work on a frame shown live, never on
        # one written hold_s later.
        frame = held.frame
        vehicles = self._vehicles.get((frame.camera, frame.seq))
        reads = self._frame_reads.get((frame.camera, frame.seq))
        image = decode_jpeg(frame.jpeg)
        if image is None:
            return None
        if vehicles:
            for v in vehicles:
                x1, y1, x2, y2 = v.box.xyxy
                cv2.rectangle(image, (x1, y1), (x2, y2), GREEN, 2)
                label = f"{v.vehicle_class.value}" + (f" #{v.track_id}" if v.track_id is not None else "")
                plate = self._track_labels.get((frame.camera, v.track_id)) if v.track_id is not None else None
                _label(image, label + (f" | {plate}" if plate else ""), (x1, max(0, y1 - 6)), GREEN)
        if reads:
            for r in reads:
                if r.plate_box is not None:
                    x1, y1, x2, y2 = r.plate_box.xyxy
                    cv2.rectangle(image, (x1, y1), (x2, y2), AMBER, 2)
                    _label(image, display(r.normalized, self.formats), (x1, y2 + 22), AMBER)
        self._draw_banners(image, frame.captured_at)
        return image

    def _draw_banners(self, image: np.ndarray, now: datetime) -> None:
        shown = [b for b in self._banners if b.since <= now <= b.until]
        for i, b in enumerate(shown[-4:]):
            _label(image, b.text, (12, 36 + 34 * i), b.color, scale=0.9)

    # -- end of run ----------------------------------------------------------------------------------
    def close(self) -> None:
        while self._held:
            self._write_held(self._held.popleft())
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._reads_file.close()
        self._events_file.close()
        self._fill_in_reads_events()
        self._write_events_csv()

    def _read_row(self, r: _Read) -> list[object]:
        return [
            self._local(r.captured_at),
            r.captured_at.isoformat(),
            r.camera,
            r.seq,
            display(r.normalized, self.formats),
            r.normalized,
            f"{r.confidence:.4f}",
            r.vehicle_class.value,
            "" if r.track_id is None else r.track_id,
            r.engine,
            "",  # event, event_id: filled in at the end of the run
            "",
        ]

    def _fill_in_reads_events(self) -> None:
        # An event's best read is the read of that camera at the event's time (its capture time).
        best = {(e.camera, e.time): e for e in self.events}
        path = self.output_dir / READS_CSV_NAME
        with open(path, newline="") as src, _rewritten(path, READS_COLUMNS) as out:
            for row in csv.DictReader(src):
                event = best.get((row["camera"], datetime.fromisoformat(row["time_utc"])))
                if event is not None:
                    row["event"], row["event_id"] = event.type.value, str(event.event_id)
                out.writerow(row[c] for c in READS_COLUMNS)

    def _write_events_csv(self) -> None:
        # Written as they were decided; sorted by time once the run is over (cameras interleave).
        with _rewritten(self.output_dir / EVENTS_CSV_NAME, EVENTS_COLUMNS) as out:
            for e in sorted(self.events, key=lambda e: e.time):
                out.writerow(self._event_row(e))

    def _event_row(self, e: EventMessage) -> list[object]:
        return [
            self._local(e.time),
            e.time.isoformat(),
            e.type.value,
            display(e.plate, self.formats),
            e.plate,
            f"{e.confidence:.4f}",
            e.camera,
            e.vehicle_class.value,
            e.read_count,
            self._local(e.first_seen),
            self._local(e.last_seen),
            str(e.event_id),
        ]

    def _local(self, t: datetime) -> str:
        return t.astimezone(self.tz).isoformat(timespec="milliseconds")


def _open_csv(path: Path, columns: list[str]) -> tuple[TextIO, Any]:
    """A CSV file with its header on disk at once (closed in Recorder.close)."""
    fh = open(path, "w", newline="")  # noqa: SIM115
    out = csv.writer(fh)
    out.writerow(columns)
    fh.flush()
    return fh, out


@contextmanager
def _rewritten(path: Path, columns: list[str]) -> Iterator[Any]:
    """A CSV writer whose rows replace `path` whole once the block ends (readers never see half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(columns)
        yield out
    os.replace(tmp, path)


def _label(
    image: np.ndarray, text: str, org: tuple[int, int], color: tuple[int, int, int], scale: float = 0.6
) -> None:
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
    x, y = org
    y = max(y, h + base)
    cv2.rectangle(image, (x, y - h - base), (x + w, y + base), BLACK, -1)
    cv2.putText(image, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, color, 2, cv2.LINE_AA)

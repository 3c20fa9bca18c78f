"""The 30-second rule: plate reads → sightings → entry/exit events. Pure logic plus its state file.

Time comes only from the messages. Each camera has its own clock, the latest `captured_at` it sent;
every ReadsMessage moves it, with or without reads. Rules, with W the window:

* A read joins an open sighting of its camera when it is less than W from the sighting's reads
  (exactly W apart is a new sighting) and its text is the same plate: at most `max_errors` edits
  from the sighting's plate, confusable characters (O/0, I/1, B/8, S/5, Z/2, G/6) counting as
  equal. Several candidates: the smallest distance wins (exact beats tolerant), then a sighting
  with the read's track id, then the most recent one.
* Failing that, a read whose detector track id is one of a sighting's joins it when at most
  `track_max_errors` edits apart: the tracker says it is the same vehicle, the OCR only misread
  more of it (a partial plate, a dirty character).
* A sighting closes when its camera's clock reaches last_seen + W, or at end of stream. Its event
  is made from its most confident read (time, confidence, vehicle class, candidates, snapshot); its
  plate is the vote over its reads and, with `fuse_candidates`, their candidates (see `vote.py`).
* A closing sighting whose plate (or best read) is the same plate as one inside is that car's
  `exit`, and the event carries the plate recorded at entry, so entry and exit pair up. Otherwise
  it is an `entry`. So a plate's sightings alternate entry, exit, entry... That is on a camera of
  role `both` (the default). A camera of role `entry` only makes entries (a plate already inside
  missed its exit: it is entered again), one of role `exit` only exits (a plate not inside missed
  its entry: an exit all the same). Who is inside is one set for all cameras of the lot.

Limits: two cars whose plates differ in one character, seen by one camera within W of each other,
are taken for one car. A camera that stops sending keeps its sightings open until it resumes.

Crash safety: an event is saved (state file, then the outbox database) before `process` returns
it, and stays in the outbox until the records service acknowledges it (`acknowledged`); a restart
therefore re-publishes it with the same UUID. The last messages' (seq, captured_at) are kept, so a
redelivered ReadsMessage is skipped instead of counted twice.
"""

from __future__ import annotations

import base64
import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from uuid import UUID

from anpr.messages import EventMessage, EventType, PlateRead, ReadsMessage, utcnow
from anpr.plates import distance, same_plate
from services.aggregator.outbox import Outbox
from services.aggregator.settings import AggregatorSettings
from services.aggregator.state import CameraClock, Inside, Sighting, State, StateFile
from services.aggregator.timegate import TimeGate
from services.aggregator.vote import add_votes, read_evidence, voted_plate

log = logging.getLogger("aggregator")

# Enough to cover every message a broker can hold unacknowledged for us (in flight plus queued).
RECENT_KEYS = 256
MAX_TRACKS = 16


def sighting_plate(s: Sighting) -> str:
    return voted_plate(s.votes, s.best.normalized)


class Aggregator:
    def __init__(self, settings: AggregatorSettings, now: Callable[[], datetime] = utcnow) -> None:
        """`now` is this machine's clock; it only bounds which capture times are believed."""
        self.settings = settings
        self._times = TimeGate(settings, now)
        self._window = timedelta(seconds=settings.window_s)
        self._file = StateFile(settings.state_file)
        self._state: State = self._file.load()
        self.outbox = Outbox(settings.outbox_path)
        self._flush_outbox()  # events a crash left in the state file only
        self._recent: dict[str, deque[tuple[int, datetime]]] = {
            cam: deque(c.recent, maxlen=RECENT_KEYS) for cam, c in self._state.cameras.items()
        }
        self._warned_snapshot = False
        self._saved_at: datetime | None = None
        self._unsaved = False

    # -- views (copies; the state is changed only through the methods below) ----------------------
    @property
    def inside(self) -> dict[str, Inside]:
        return dict(self._state.inside)

    @property
    def open_sightings(self) -> list[Sighting]:
        return list(self._state.open)

    def pending(self) -> list[EventMessage]:
        """Events made but not yet acknowledged, oldest first."""
        return self.outbox.pending() + list(self._state.outbox)

    # -- changes -------------------------------------------------------------------------------------
    def process(self, msg: ReadsMessage) -> list[EventMessage]:
        """Take one frame's reads; return the events of the sightings this closed, ordered by time."""
        if self.settings.cameras and msg.camera not in self.settings.cameras:
            return []
        if not self._times.admits(msg):
            return []
        cam = self._state.cameras.setdefault(msg.camera, CameraClock())
        recent = self._recent.setdefault(msg.camera, deque(maxlen=RECENT_KEYS))
        key = (msg.seq, msg.captured_at)
        if key in recent or _handled_before(cam, msg):
            log.info(
                "camera %s frame %d at %s seen before (a redelivery); skipped",
                msg.camera,
                msg.seq,
                msg.captured_at.isoformat(),
            )
            return []
        events: list[EventMessage] = []
        if cam.clock is not None and msg.captured_at <= cam.clock - self._window:
            # A replay or a reset clock: what is open belongs to the old timeline.
            log.warning(
                "camera %s: time went back from %s to %s; closing its open sightings",
                msg.camera,
                cam.clock.isoformat(),
                msg.captured_at.isoformat(),
            )
            events += self._close(self._open_on(msg.camera))
            cam.clock = None
            cam.stream = None
            recent.clear()
        cam.clock = msg.captured_at if cam.clock is None else max(cam.clock, msg.captured_at)
        cam.stream = _extended(cam.stream, msg)
        changed, open_before = False, len(self._state.open)
        for read in self._times.reads_of(msg):
            changed |= self._add(msg.camera, read)
        if msg.end_of_stream:
            log.info("camera %s: end of stream; closing its open sightings", msg.camera)
            events += self._close(self._open_on(msg.camera))
            cam.clock = None
            cam.stream = None
            recent.clear()  # a new stream may legitimately repeat seq and times
        else:
            clock = cam.clock
            events += self._close(s for s in self._open_on(msg.camera) if clock - s.last_seen >= self._window)
            recent.append(key)
        # A new sighting is saved at once, so a crash never loses a car; more reads of one may wait.
        opened = len(self._state.open) > open_before
        if events or opened or (changed and self._save_due(msg.captured_at)):
            self._save()
        return sorted(events, key=lambda e: e.time)

    def flush(self, camera: str | None = None) -> list[EventMessage]:
        """Close every open sighting (of `camera`, or of all) now: the footage is over."""
        events = self._close(s for s in self._state.open if camera is None or s.camera == camera)
        if events or self._unsaved:
            self._save()
        return events

    def save_unsaved(self) -> None:
        """On a clean stop: save the reads that save_every_s held back."""
        if self._unsaved:
            self._save()

    def acknowledged(self, event_id: UUID) -> None:
        """The records service has the event (or, in-process, the bus handled it): it leaves the outbox."""
        self.outbox.remove([event_id])
        self._state.outbox = [e for e in self._state.outbox if e.event_id != event_id]

    # -- internals -----------------------------------------------------------------------------------
    def _open_on(self, camera: str) -> list[Sighting]:
        return [s for s in self._state.open if s.camera == camera]

    def _add(self, camera: str, read: PlateRead) -> bool:
        if read.confidence < self.settings.min_read_confidence:
            log.debug("read %s (%.2f) below min_read_confidence; ignored", read.normalized, read.confidence)
            return False
        read = self._capped(read)
        t = read.captured_at
        s = self._match(camera, read)
        if s is None:
            s = Sighting(
                camera=camera,
                first_seen=t,
                last_seen=t,
                read_count=1,
                best=read,
                votes=read_evidence(read, self.settings.fuse_candidates),
                tracks=[read.track_id] if read.track_id is not None else [],
            )
            self._state.open.append(s)
            log.debug("camera %s: new sighting of %s at %s", camera, read.normalized, t.isoformat())
            return True
        s.read_count += 1
        s.first_seen = min(s.first_seen, t)
        s.last_seen = max(s.last_seen, t)
        add_votes(s.votes, read_evidence(read, self.settings.fuse_candidates))
        if read.confidence > s.best.confidence:
            s.best = read
        if read.track_id is not None and read.track_id not in s.tracks:
            s.tracks = [*s.tracks, read.track_id][-MAX_TRACKS:]
        return True

    def _match(self, camera: str, read: PlateRead) -> Sighting | None:
        t, text = read.captured_at, read.normalized
        near = [
            s for s in self._open_on(camera) if s.first_seen - self._window < t < s.last_seen + self._window
        ]
        by_text: list[tuple[int, bool, float, Sighting]] = []
        by_track: list[tuple[int, float, Sighting]] = []
        for s in near:
            plate = sighting_plate(s)
            d = distance(text, plate)
            on_track = read.track_id is not None and read.track_id in s.tracks
            if same_plate(text, plate, self.settings.max_errors):
                by_text.append((d, not on_track, -s.last_seen.timestamp(), s))
            elif on_track and d <= self.settings.track_max_errors:
                by_track.append((d, -s.last_seen.timestamp(), s))
        if by_text:
            return min(by_text, key=lambda c: c[:3])[-1]
        if by_track:
            return min(by_track, key=lambda c: c[:2])[-1]
        return None

    def _close(self, sightings: Iterable[Sighting]) -> list[EventMessage]:
        closing = sorted(sightings, key=lambda s: (s.best.captured_at, s.first_seen))
        if not closing:
            return []
        closing_ids = {id(s) for s in closing}
        self._state.open = [s for s in self._state.open if id(s) not in closing_ids]
        return [self._event_of(s) for s in closing]

    def _event_of(self, s: Sighting) -> EventMessage:
        plate = sighting_plate(s)
        identity = self._inside_match({plate, s.best.normalized})
        role = self.settings.camera_roles.get(s.camera, "both")
        if role == "both":
            kind = EventType.EXIT if identity is not None else EventType.ENTRY
        else:
            kind = EventType(role)
            if (kind is EventType.ENTRY) == (identity is not None):
                missed = "exit" if identity is not None else "entry"
                log.info(
                    "%s %s on %s camera %s: its %s was missed", kind.value, plate, role, s.camera, missed
                )
        best = s.best
        event = EventMessage(
            type=kind,
            plate=identity or plate,
            confidence=best.confidence,
            camera=s.camera,
            time=best.captured_at,
            first_seen=s.first_seen,
            last_seen=s.last_seen,
            vehicle_class=best.vehicle_class,
            read_count=s.read_count,
            candidates=best.candidates,
            snapshot_jpeg=best.snapshot_jpeg,
        )
        if identity is not None:
            del self._state.inside[identity]
        if kind is EventType.ENTRY:
            self._state.inside[event.plate] = Inside(
                since=event.time, camera=s.camera, event_id=event.event_id
            )
        self._state.outbox.append(event)
        log.info(
            "%s %s on %s at %s (%d read(s) from %s to %s, best %.2f%s)",
            kind.value,
            event.plate,
            s.camera,
            event.time.isoformat(),
            s.read_count,
            s.first_seen.isoformat(),
            s.last_seen.isoformat(),
            best.confidence,
            f", read as {plate}" if identity not in (None, plate) else "",
        )
        return event

    def _inside_match(self, texts: set[str]) -> str | None:
        """The identity of the car inside that `texts` is a read of, if any."""
        found = [
            (distance(text, plate), rec.since, plate)
            for plate, rec in self._state.inside.items()
            for text in texts
            if same_plate(text, plate, self.settings.max_errors)
        ]
        return min(found)[2] if found else None

    def _capped(self, read: PlateRead) -> PlateRead:
        snap = read.snapshot_jpeg
        if snap is None or len(snap) <= self.settings.snapshot_max_bytes:
            return read
        level = logging.DEBUG if self._warned_snapshot else logging.WARNING
        log.log(
            level,
            "snapshot of %d bytes over snapshot_max_bytes=%d; left out",
            len(snap),
            self.settings.snapshot_max_bytes,
        )
        self._warned_snapshot = True
        return read.model_copy(update={"snapshot_jpeg": None})

    def _save_due(self, at: datetime) -> bool:
        """More reads of a saved sighting are saved at most every save_every_s (an fsync per frame
        wears an SD card): a crash loses at most those seconds of reads, never a sighting or an event."""
        if (
            self._saved_at is not None
            and abs((at - self._saved_at).total_seconds()) < self.settings.save_every_s
        ):
            self._unsaved = True
            return False
        return True

    def _save(self) -> None:
        self._saved_at = max((c.clock for c in self._state.cameras.values() if c.clock), default=None)
        self._unsaved = False
        for cam, keys in self._recent.items():
            if cam in self._state.cameras:
                self._state.cameras[cam].recent = list(keys)
        try:
            self._file.save(self._state)  # new events ride in the state file until the outbox has them
        except OSError as exc:
            # Kept in memory; the next change tries again. Events still go out.
            log.error("could not save the state to %s: %s", self._file.path, exc)
        self._flush_outbox()

    def _flush_outbox(self) -> None:
        if not self._state.outbox:
            return
        try:
            self.outbox.add(self._state.outbox)
        except (sqlite3.Error, OSError) as exc:
            log.error("could not write the outbox %s: %s; the events wait in memory", self.outbox.path, exc)
            return
        self._state.outbox = []


def _handled_before(cam: CameraClock, msg: ReadsMessage) -> bool:
    """A message of this stream older than its newest one: frames of a stream come in order (QoS 1
    keeps a publisher's order), so it is one handled before, redelivered by a broker restored from
    an older save. `recent` only covers the last RECENT_KEYS messages; this covers the stream."""
    if cam.stream is None:
        return False
    first_seq, first_at, last_seq, last_at = cam.stream
    return first_seq <= msg.seq < last_seq and first_at <= msg.captured_at < last_at


def _extended(stream: tuple[int, datetime, int, datetime] | None, msg: ReadsMessage):  # noqa: ANN202
    if stream is None or msg.seq < stream[2]:  # the first message, or a restarted capture (seq from 0)
        return (msg.seq, msg.captured_at, msg.seq, msg.captured_at)
    return (stream[0], stream[1], msg.seq, max(stream[3], msg.captured_at))


def _b64(data: bytes | None) -> bytes | None:
    # Base64Bytes fields decode what they are given: raw JPEG bytes must go in encoded.
    return base64.b64encode(data) if data is not None else None

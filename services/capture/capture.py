"""Frames from a source as `FrameMessage`s: frame-rate cap, resize, JPEG, timestamps, reconnects.

Files: the time of frame i is `start_time + i / fps` (the file's own rate), so a replay with the same
start time gives the same timestamps; without a start time, the file's modification time (UTC) is the
start. `end_of_stream` is set on the last frame yielded (one frame is read ahead to know it).
Live sources: the time is the wall clock (UTC) when the frame was grabbed; a source that drops is
reopened with exponential back-off until `stop` is set.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from anpr.messages import FrameMessage, utcnow
from services.capture.settings import CaptureSettings
from services.capture.sources import SourceKind, csi_pipeline, has_gstreamer, open_capture, parse_source

log = logging.getLogger("capture")

# A file whose frame count is unknown or wrong ends after this many failed reads in a row.
MAX_FILE_READ_FAILURES = 10
# A frame rate outside this range is a container's placeholder (RTSP often says 90000), not a rate.
_PLAUSIBLE_FPS = (0.5, 240.0)


class CaptureError(RuntimeError):
    """The source cannot be used at all (missing, corrupt, unsupported here)."""


def _plausible(fps: float) -> float | None:
    return fps if _PLAUSIBLE_FPS[0] <= fps <= _PLAUSIBLE_FPS[1] else None


class RateLimiter:
    """Keeps at most `max_fps` frames per second of a live source, by the time each frame arrives."""

    def __init__(self, max_fps: float | None) -> None:
        self._period = 1.0 / max_fps if max_fps else 0.0
        self._next: float | None = None

    def admit(self, t: float) -> bool:
        if not self._period:
            return True
        # A tenth of a period of slack, so a camera's jitter does not drop every other frame.
        if self._next is not None and t < self._next - 0.1 * self._period:
            return False
        self._next = t + self._period if self._next is None else max(self._next + self._period, t)
        return True


class Capture:
    def __init__(
        self, settings: CaptureSettings, first_seq: int = 0, *, stop: threading.Event | None = None
    ) -> None:
        self.settings = settings
        self.first_seq = first_seq
        self.source = parse_source(settings.source)
        self.stop = stop or threading.Event()
        self.source_fps: float | None = None
        #: frames per second that come out (the source's rate, capped by max_fps)
        self.fps: float | None = None
        #: (width, height) of the frames that come out
        self.size: tuple[int, int] | None = None
        #: how many frames a file yields (after the cap); None for live sources
        self.total_frames: int | None = None
        self.source_frames: int | None = None
        #: realtime file playback: frames dropped because the consumer was late
        self.late_skipped = 0
        self._cap: cv2.VideoCapture | None = None
        if self.source.kind is SourceKind.CSI and not has_gstreamer():
            raise CaptureError(
                f"{settings.source} needs OpenCV built with GStreamer, and this OpenCV "
                f"({cv2.__version__}) has none: on the Jetson use JetPack's OpenCV (python3-opencv from apt, "
                "not the pip wheel)"
            )
        if self.source.kind is SourceKind.FILE:
            self._open_file()

    @property
    def is_file(self) -> bool:
        return self.source.kind is SourceKind.FILE

    def frames(self) -> Iterator[FrameMessage]:
        return self._file_frames() if self.is_file else self._live_frames()

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    # -- files -----------------------------------------------------------------------------------
    def _open_file(self) -> cv2.VideoCapture:
        path = str(self.source.target)
        if not Path(path).is_file():
            raise CaptureError(f"video file {path} does not exist")
        cap = open_capture(self.source, timeout_s=self.settings.open_timeout_s)
        if not cap.isOpened():
            raise CaptureError(
                f"cannot read video file {path}: not a video OpenCV can decode (corrupt or truncated?)"
            )
        fps = _plausible(cap.get(cv2.CAP_PROP_FPS))
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.source_fps = fps
        self.source_frames = count if count > 0 else None
        self.fps = min(fps, self.settings.max_fps) if fps and self.settings.max_fps else fps
        self.size = self._output_size(
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        )
        if self.source_frames is not None:
            if self.source_fps and self.settings.max_fps and self.settings.max_fps < self.source_fps:
                self.total_frames = self._slot(self.source_frames - 1) + 1
            else:
                self.total_frames = self.source_frames
        self._cap = cap
        return cap

    def _start_time(self) -> datetime:
        if self.settings.start_time is not None:
            return self.settings.start_time.astimezone(timezone.utc)
        return datetime.fromtimestamp(Path(str(self.source.target)).stat().st_mtime, timezone.utc)

    def _slot(self, index: int) -> int:
        """Which 1/max_fps slot of the file frame `index` falls in; the first frame of each slot is kept."""
        assert self.source_fps and self.settings.max_fps
        return math.floor(index * self.settings.max_fps / self.source_fps + 1e-7)

    def _kept(self, index: int) -> bool:
        if not (self.source_fps and self.settings.max_fps) or self.settings.max_fps >= self.source_fps:
            return True
        return index == 0 or self._slot(index) != self._slot(index - 1)

    def _position_s(self, cap: cv2.VideoCapture, index: int, previous: float) -> float:
        if self.source_fps:
            return index / self.source_fps
        # No usable rate in the container: trust its timestamps while they move forward.
        pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        return pos if pos > previous or index == 0 else previous + 0.1

    def _file_frames(self) -> Iterator[FrameMessage]:
        cap = self._cap if self._cap is not None else self._open_file()
        self._cap = None  # a second frames() call reopens the file
        path = str(self.source.target)
        start = self._start_time()
        told = (
            "the start time given"
            if self.settings.start_time
            else "the file's modification time; CAPTURE_START_TIME sets it"
        )
        log.info("%s: first frame at %s (%s)", path, start.isoformat(), told)
        realtime = self.settings.pace == "realtime"
        interval = 1.0 / self.source_fps if self.source_fps else 0.1
        seq = self.first_seq
        pending: FrameMessage | None = None
        index, failures, position = 0, 0, -1.0
        self.late_skipped = 0
        limiter = RateLimiter(self.settings.max_fps)  # only for files without a usable frame rate
        began = time.monotonic()
        try:
            while not self.stop.is_set():
                if not cap.grab():
                    failures += 1
                    at_end = self.source_frames is not None and index >= self.source_frames
                    if at_end or failures >= MAX_FILE_READ_FAILURES:
                        break
                    continue
                failures = 0
                i, index = index, index + 1
                position = self._position_s(cap, i, position)
                if not (self._kept(i) if self.source_fps else limiter.admit(position)):
                    continue
                if realtime:
                    delay = began + position - time.monotonic()
                    if delay > 0:
                        self.stop.wait(delay)
                    elif -delay > interval and pending is not None:
                        self.late_skipped += 1  # as a camera would: the consumer missed this one
                        continue
                ok, image = cap.retrieve()
                frame = self._message(
                    image if ok else None, seq, start + timedelta(seconds=position), f"frame {i}"
                )
                if frame is None:
                    continue
                seq += 1
                if pending is not None:
                    yield pending
                pending = frame
        finally:
            cap.release()
        if self.source_frames is not None and index < self.source_frames and not self.stop.is_set():
            log.warning(
                "%s ended after %d of the %d frames it announces (truncated or corrupt file?)",
                path,
                index,
                self.source_frames,
            )
        if self.late_skipped:
            log.info(
                "%s: %d frames skipped because the consumer was behind real time", path, self.late_skipped
            )
        if pending is None:
            if self.stop.is_set():
                return
            raise CaptureError(f"no frame of {path} could be decoded (corrupt or truncated file?)")
        yield pending.model_copy(update={"end_of_stream": True})

    # -- live sources ----------------------------------------------------------------------------------
    def _open_live(self) -> cv2.VideoCapture | None:
        text = None
        if self.source.kind is SourceKind.CSI:
            s = self.settings
            out = self._output_size(s.csi_width, s.csi_height) if s.resize_width else None
            text = csi_pipeline(
                int(self.source.target), s.csi_width, s.csi_height, s.csi_fps, s.csi_flip, out
            )
        try:
            cap = open_capture(self.source, timeout_s=self.settings.open_timeout_s, csi_pipeline_text=text)
        except cv2.error as exc:
            log.warning("%s: OpenCV failed to open it: %s", self.source.describe(), exc)
            return None
        if not cap.isOpened():
            cap.release()
            return None
        fps = _plausible(cap.get(cv2.CAP_PROP_FPS))
        self.source_fps = fps
        cap_fps = self.settings.max_fps
        self.fps = min(fps, cap_fps) if fps and cap_fps else (fps or cap_fps)
        self.size = self._output_size(
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        )
        log.info(
            "%s opened (%s fps, %sx%s)", self.source.describe(), fps or "unknown", *(self.size or ("?", "?"))
        )
        return cap

    def _live_frames(self) -> Iterator[FrameMessage]:
        s = self.settings
        seq = self.first_seq
        delay, attempt = s.reconnect_initial_s, 0
        limiter = RateLimiter(s.max_fps)
        while not self.stop.is_set():
            cap = self._open_live()
            if cap is not None:
                try:
                    while not self.stop.is_set():
                        if not cap.grab():
                            log.warning("%s: read failed; the source dropped", self.source.describe())
                            break
                        grabbed_at = utcnow()
                        delay, attempt = s.reconnect_initial_s, 0  # it works again: next drop starts small
                        if not limiter.admit(time.monotonic()):
                            continue
                        ok, image = cap.retrieve()
                        frame = self._message(image if ok else None, seq, grabbed_at, "live frame")
                        if frame is not None:
                            seq += 1
                            yield frame
                finally:
                    cap.release()
            if self.stop.is_set():
                break
            attempt += 1
            log.warning(
                "%s unavailable; reconnect attempt %d in %.2f s", self.source.describe(), attempt, delay
            )
            self.stop.wait(delay)
            delay = min(delay * 2, s.reconnect_max_s)

    # -- one frame ----------------------------------------------------------------------------------
    def _output_size(self, width: int, height: int) -> tuple[int, int] | None:
        if width <= 0 or height <= 0:
            return None
        target = self.settings.resize_width
        if not target or target == width:
            return width, height
        return target, max(1, round(height * target / width))

    def _message(self, image: np.ndarray | None, seq: int, at: datetime, what: str) -> FrameMessage | None:
        """JPEG and metadata of one frame; None (logged) when the frame is unusable."""
        if image is None or image.size == 0 or image.ndim not in (2, 3):
            log.warning("%s: %s could not be decoded; skipped", self.source.describe(), what)
            return None
        try:
            height, width = image.shape[:2]
            size = self._output_size(width, height)
            if size is not None and size != (width, height):
                shrink = size[0] < width
                image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.settings.jpeg_quality])
            if not ok:
                raise ValueError("imencode returned False")
        except (cv2.error, ValueError) as exc:
            log.warning(
                "%s: %s could not be encoded as JPEG (%s); skipped", self.source.describe(), what, exc
            )
            return None
        h, w = image.shape[:2]
        jpeg = buf.tobytes()
        return FrameMessage(
            camera=self.settings.camera_id, seq=seq, captured_at=at, width=w, height=h, jpeg=jpeg
        )

"""Back-pressure: at most `max_in_flight` frames published and not yet answered by downstream.

The last stage before the aggregator publishes one `ReadsMessage` per processed frame, carrying the
frame's seq. Stages handle a camera's frames in order, so an answer for seq n also settles every
earlier frame (one lost on the way is never answered and must not hold the window forever).
Files in `fast` pace wait for room, so nothing is lost; live sources and `realtime` files skip
frames while the window is full, as a camera would. A downstream that stays silent for
`timeout_s` is logged loudly and no longer waited for.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from anpr.messages import FrameMessage, ReadsMessage
from services.capture.capture import Capture

log = logging.getLogger("capture")

SKIP_REPORT_S = 10.0


class InFlightWindow:
    def __init__(self, size: int, timeout_s: float) -> None:
        self.size = size
        self.timeout_s = timeout_s
        self._sent: dict[int, float] = {}  # seq -> monotonic time it was published
        self._cond = threading.Condition()
        self.max_outstanding = 0
        self.timeouts = 0

    @property
    def outstanding(self) -> int:
        with self._cond:
            return len(self._sent)

    def sent(self, seq: int) -> None:
        with self._cond:
            self._sent[seq] = time.monotonic()
            self.max_outstanding = max(self.max_outstanding, len(self._sent))

    def ack(self, seq: int) -> None:
        with self._cond:
            settled = [s for s in self._sent if s <= seq]
            for s in settled:
                del self._sent[s]
            if settled:
                self._cond.notify_all()
            else:
                log.debug("answer for frame %d matches nothing in flight (late or from an earlier run)", seq)

    def has_room(self) -> bool:
        with self._cond:
            self._expire()
            return len(self._sent) < self.size

    def wait_for_room(self, stop: threading.Event) -> bool:
        """Block until a frame may be published; False only when `stop` was set."""
        return self._wait_until(lambda: len(self._sent) < self.size, stop)

    def drain(self, stop: threading.Event) -> bool:
        """Block until every frame is answered; False when stopped or downstream went silent."""
        timeouts = self.timeouts
        return self._wait_until(lambda: not self._sent, stop) and self.timeouts == timeouts

    def _wait_until(self, ready: Callable[[], bool], stop: threading.Event) -> bool:
        with self._cond:
            while not ready():
                if stop.is_set():
                    return False
                self._expire()
                if ready():
                    break
                oldest = min(self._sent.values())
                # Wake up at the deadline, and now and then to notice `stop`.
                self._cond.wait(min(0.2, max(0.0, oldest + self.timeout_s - time.monotonic())))
            return True

    def _expire(self) -> None:
        """Caller holds the lock. Forget every frame once the oldest has waited past the timeout."""
        if not self._sent:
            return
        oldest_seq = min(self._sent, key=self._sent.__getitem__)
        waited = time.monotonic() - self._sent[oldest_seq]
        if waited < self.timeout_s:
            return
        self.timeouts += 1
        log.error(
            "NO ANSWER from downstream for frame %d after %.1f s (%d frames unanswered): is the detector/OCR "
            "running and publishing reads? Carrying on without waiting for them",
            oldest_seq,
            waited,
            len(self._sent),
        )
        self._sent.clear()
        self._cond.notify_all()


@dataclass
class PumpStats:
    published: int = 0
    skipped: int = 0  # window full (live / realtime)
    last_seq: int | None = None
    drained: bool = False  # a file's last frame was answered
    max_outstanding: int = 0
    timeouts: int = 0


class FramePump:
    """Runs the capture's frames through the window to `publish`; `on_reads` takes the answers."""

    def __init__(self, capture: Capture, window: InFlightWindow) -> None:
        self.capture = capture
        self.window = window
        self.wait = capture.is_file and capture.settings.pace == "fast"

    def on_reads(self, _topic: str, message: ReadsMessage) -> None:
        self.window.ack(message.seq)

    def run(self, publish: Callable[[FrameMessage], None], stop: threading.Event) -> PumpStats:
        stats = PumpStats()
        skipped_since, last_report = 0, time.monotonic()
        for frame in self.capture.frames():
            if stop.is_set():
                break
            # The end-of-stream flag must arrive, so that frame waits for room like in fast mode.
            if self.wait or frame.end_of_stream:
                if not self.window.wait_for_room(stop):
                    break
            elif not self.window.has_room():
                stats.skipped += 1
                skipped_since += 1
                if time.monotonic() - last_report >= SKIP_REPORT_S:
                    self._report_skips(skipped_since, stats.skipped)
                    skipped_since, last_report = 0, time.monotonic()
                continue
            self.window.sent(frame.seq)  # before publishing: the answer may come back at once
            publish(frame)
            stats.published += 1
            stats.last_seq = frame.seq
        if skipped_since:
            self._report_skips(skipped_since, stats.skipped)
        if self.capture.is_file and stats.published and not stop.is_set():
            log.info("last frame (%s) published; waiting for downstream to answer it", stats.last_seq)
            stats.drained = self.window.drain(stop)
        stats.max_outstanding = self.window.max_outstanding
        stats.timeouts = self.window.timeouts
        return stats

    def _report_skips(self, recent: int, total: int) -> None:
        log.warning(
            "downstream busy (%d frames in flight): skipped %d frames (%d in all)",
            self.window.size,
            recent,
            total,
        )

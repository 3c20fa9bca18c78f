"""Which times the aggregator believes. A camera's clock only moves forward with its messages, so one
message stamped decades away would close every open sighting, or hold the camera's clock where no
later frame can reach it. Refused at the boundary, before anything changes:

* a message more than `max_ahead_s` ahead of this machine's clock (nothing is filmed in the future;
  the margin covers a capture host whose clock is a few hours off);
* a message more than `max_age_days` older than this machine's clock (a camera booted at 1970 before
  NTP synced). Replays of old files stay within it: raise it, or give capture a `--start-time`;
* a read more than one window away from its own frame's time (the OCR stamps reads with the frame's
  time, so such a read belongs to no frame the camera sent).

A camera that was offline for days, or a replay that restarts from its start time, stays within
these bounds. One warning per camera while it keeps sending refused times, then one line when its
times are believable again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from anpr.messages import PlateRead, ReadsMessage, utcnow
from services.aggregator.settings import AggregatorSettings

log = logging.getLogger("aggregator")


class TimeGate:
    def __init__(self, settings: AggregatorSettings, now: Callable[[], datetime] = utcnow) -> None:
        self._now = now
        self._ahead = timedelta(seconds=settings.max_ahead_s)
        self._age = timedelta(days=settings.max_age_days)
        self._window = timedelta(seconds=settings.window_s)
        self._refused: dict[str, int] = {}  # per camera: messages refused since its last accepted one

    def admits(self, msg: ReadsMessage) -> bool:
        """Whether the message's time is believable; logs the refusal when it is not."""
        now = self._now()
        if msg.captured_at > now + self._ahead:
            why = f"more than AGGREGATOR_MAX_AHEAD_S={self._ahead.total_seconds():g} ahead of this machine"
        elif msg.captured_at < now - self._age:
            why = f"more than AGGREGATOR_MAX_AGE_DAYS={self._age.days} days before this machine's clock"
        else:
            refused = self._refused.pop(msg.camera, 0)
            if refused:
                log.info(
                    "camera %s: its times are believable again after %d refused message(s)",
                    msg.camera,
                    refused,
                )
            return True
        self._refused[msg.camera] = self._refused.get(msg.camera, 0) + 1
        log.log(
            logging.WARNING if self._refused[msg.camera] == 1 else logging.DEBUG,
            "camera %s: frame %d refused: its time %s is %s (now %s); check the camera's or capture's clock",
            msg.camera,
            msg.seq,
            msg.captured_at.isoformat(),
            why,
            now.isoformat(),
        )
        return False

    def reads_of(self, msg: ReadsMessage) -> tuple[PlateRead, ...]:
        """The message's reads stamped within one window of the frame's time; the rest are logged."""
        kept = tuple(r for r in msg.reads if abs(r.captured_at - msg.captured_at) < self._window)
        if len(kept) != len(msg.reads):
            log.warning(
                "camera %s: frame %d at %s: %d read(s) stamped a window or more from the frame's time; ignored",
                msg.camera,
                msg.seq,
                msg.captured_at.isoformat(),
                len(msg.reads) - len(kept),
            )
        return kept

"""Which tracks already have a confident read, so that they are not read again."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

TrackKey = tuple[str, int]  # (camera, track id)


class ConfidentTracks:
    """Bounded memory of tracks with a confident read. A track unseen for `forget_s` (capture time) is
    forgotten: ByteTrack keeps a lost track for a while and hands its id to the next vehicle found at
    the same place (the next car at a barrier, seconds later), and a restarted detector reuses ids.
    Reading a known car again costs OCR time; skipping a new car loses it. The least recently seen
    tracks go first when the memory is full."""

    def __init__(self, capacity: int, forget_s: float) -> None:
        self.capacity = capacity
        self.forget_s = forget_s
        self._last_seen: OrderedDict[TrackKey, datetime] = OrderedDict()

    def __len__(self) -> int:
        return len(self._last_seen)

    def seen_done(self, key: TrackKey, at: datetime) -> bool:
        """True when `key` already has a confident read (and marks it seen at `at`)."""
        last = self._last_seen.get(key)
        if last is None:
            return False
        if abs((at - last).total_seconds()) > self.forget_s:
            del self._last_seen[key]
            return False
        self._last_seen[key] = at
        self._last_seen.move_to_end(key)
        return True

    def mark_done(self, key: TrackKey, at: datetime) -> None:
        self._last_seen[key] = at
        self._last_seen.move_to_end(key)
        while len(self._last_seen) > self.capacity:
            self._last_seen.popitem(last=False)

    def forget_camera(self, camera: str) -> None:
        for key in [k for k in self._last_seen if k[0] == camera]:
            del self._last_seen[key]

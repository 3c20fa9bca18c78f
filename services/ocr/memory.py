"""Which tracks to read again: a track's plate is read on its best frames, not on every frame.

A track is read on every frame until it has a confident read. After that it is read again only when
its vehicle box has grown by `regrow` over the box of its last confident read (the car came closer:
a larger, sharper plate), at most `max_confident` confident reads in all. A car far away can give one
confident wrong read (4TTX783 for 4TIX783); the reads taken as it comes closer outvote it in the
aggregator's fusion, whatever the frame rate, while a car waiting at the barrier is not read on
every frame.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

TrackKey = tuple[str, int]  # (camera, track id)


@dataclass
class _Track:
    last_seen: datetime
    confident: int = 0  # confident reads so far
    area: int = 0  # vehicle box area (px²) at the largest confident read


class TrackReads:
    """Bounded memory of tracks and their confident reads. A track unseen for `forget_s` (capture time)
    is forgotten: ByteTrack keeps a lost track for a while and hands its id to the next vehicle found
    at the same place (the next car at a barrier, seconds later), and a restarted detector reuses ids.
    Reading a known car again costs OCR time; skipping a new car loses it. The least recently seen
    tracks go first when the memory is full."""

    def __init__(self, capacity: int, forget_s: float, regrow: float = 0.0, max_confident: int = 1) -> None:
        self.capacity = capacity
        self.forget_s = forget_s
        self.regrow = regrow
        self.max_confident = max_confident
        self._tracks: OrderedDict[TrackKey, _Track] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tracks)

    def wants(self, key: TrackKey, area: int, at: datetime) -> bool:
        """Whether the track is to be read in this frame, its vehicle box `area` px² (marks it seen)."""
        track = self._tracks.get(key)
        if track is None or abs((at - track.last_seen).total_seconds()) > self.forget_s:
            self._tracks.pop(key, None)
            return True
        track.last_seen = at
        self._tracks.move_to_end(key)
        if track.confident == 0:
            return True
        if track.confident >= self.max_confident:
            return False
        return area >= track.area * (1 + self.regrow)

    def read(self, key: TrackKey, area: int, at: datetime, confident: bool) -> None:
        """The track was read in this frame; `confident`: at or above the confident level."""
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(at)
        track.last_seen = at
        if confident:
            track.confident += 1
            track.area = max(track.area, area)
        self._tracks.move_to_end(key)
        while len(self._tracks) > self.capacity:
            self._tracks.popitem(last=False)

    def forget_camera(self, camera: str) -> None:
        for key in [k for k in self._tracks if k[0] == camera]:
            del self._tracks[key]

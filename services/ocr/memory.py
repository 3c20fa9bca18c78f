"""Which tracks to read again: a track's plate is read on its best frames, not on every frame.

A track is read on every frame until it has a confident read. After that it is read again only when
its vehicle box has grown by `regrow` over the box of its last confident read (the car came closer:
a larger, sharper plate), at most `max_confident` confident reads in all. A car far away can give one
confident wrong read (4TTX783 for 4TIX783); the reads taken as it comes closer outvote it in the
aggregator's fusion, whatever the frame rate, while a car waiting at the barrier is not read on
every frame.

A track whose looks find no plate at all (a car seen from the side, a truck in the next lane, a car
parked in view) is looked at less and less often: after `free_misses` fruitless looks in a row it
waits `miss_wait_s`, doubling with each further miss up to `miss_wait_max_s` of capture time, unless
its box grows by `miss_growth` over the box of its last look (it is coming closer: a plate that shows
for a few frames as a car drives up is looked at on them). Any read ends the wait, and a look that
found a plate but could not read it earns looks on every frame for `seen_look_s` of capture time: the
plate is there and may be readable a frame or two later (parkpow's truck 34R01357: the cascade finds
its number unreadable on frame 49 or 50, by machine, and it reads on frame 51 only). A window, not a
look on every frame while the plate shows: a parked car whose plate never reads would cost every frame
again; a look inside the window does not extend it. So
the cost of a car in view follows the footage's seconds, not its frame rate, and a plate that shows
for as long as `miss_wait_max_s` is still looked at.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from anpr.messages import Box

TrackKey = tuple[str, int]  # (camera, track id)
# A track found again after this long whose box hardly overlaps its last one is another vehicle: ByteTrack
# handed a lost id to the next car (lot-day, 2SQH590 given the id of the car read 1.4 s before it).
REFOUND_AFTER_S = 0.3
SAME_VEHICLE_IOU = 0.3


@dataclass
class _Track:
    last_seen: datetime
    confident: int = 0  # confident reads so far
    area: int = 0  # vehicle box area (px²) at the largest confident read
    misses: int = 0  # looks in a row that found no plate
    looked_at: datetime | None = None  # the last of those looks
    looked_area: int = 0  # and its vehicle box area
    box: Box | None = None  # where it was last seen
    look_until: datetime | None = None  # a look found a plate it could not read: every frame until then


class TrackReads:
    """Bounded memory of tracks and their confident reads. A track unseen for `forget_s` (capture time)
    is forgotten: ByteTrack keeps a lost track for a while and hands its id to the next vehicle found
    at the same place (the next car at a barrier, seconds later), and a restarted detector reuses ids.
    Reading a known car again costs OCR time; skipping a new car loses it. The least recently seen
    tracks go first when the memory is full."""

    def __init__(
        self,
        capacity: int,
        forget_s: float,
        regrow: float = 0.0,
        max_confident: int = 1,
        free_misses: int = 0,
        miss_wait_s: float = 0.0,
        miss_wait_max_s: float = 0.0,
        miss_growth: float = 0.0,
        seen_look_s: float = 0.0,
    ) -> None:
        self.capacity = capacity
        self.forget_s = forget_s
        self.regrow = regrow
        self.max_confident = max_confident
        self.free_misses = free_misses
        self.miss_wait_s = miss_wait_s
        self.miss_wait_max_s = miss_wait_max_s
        self.miss_growth = miss_growth
        self.seen_look_s = timedelta(seconds=seen_look_s)
        self._tracks: OrderedDict[TrackKey, _Track] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tracks)

    def wants(self, key: TrackKey, area: int, at: datetime, box: Box | None = None) -> bool:
        """Whether the track is to be read in this frame, its vehicle box `area` px² (marks it seen)."""
        track = self._tracks.get(key)
        if track is None or self._another_vehicle(track, at, box):
            self._tracks.pop(key, None)
            return True
        track.last_seen, track.box = at, box or track.box
        self._tracks.move_to_end(key)
        if track.confident == 0:
            return self._looks_again(track, area, at)
        if track.confident >= self.max_confident:
            return False
        return area >= track.area * (1 + self.regrow)

    def _another_vehicle(self, track: _Track, at: datetime, box: Box | None) -> bool:
        unseen = abs((at - track.last_seen).total_seconds())
        if unseen > self.forget_s:
            return True
        return (
            unseen >= REFOUND_AFTER_S
            and box is not None
            and track.box is not None
            and box.iou(track.box) < SAME_VEHICLE_IOU
        )

    def _looks_again(self, track: _Track, area: int, at: datetime) -> bool:
        if track.look_until is not None and at <= track.look_until:
            return True
        if track.misses < self.free_misses or track.looked_at is None:
            return True
        if area >= track.looked_area * (1 + self.miss_growth):
            return True
        wait = min(self.miss_wait_max_s, self.miss_wait_s * 2 ** (track.misses - self.free_misses))
        return abs((at - track.looked_at).total_seconds()) >= wait

    def read(self, key: TrackKey, area: int, at: datetime, confident: bool, box: Box | None = None) -> None:
        """The track was read in this frame; `confident`: at or above the confident level."""
        track = self._remember(key, at, box)
        track.misses, track.look_until = 0, None
        if confident:
            track.confident += 1
            track.area = max(track.area, area)

    def missed(
        self, key: TrackKey, area: int, at: datetime, box: Box | None = None, plate_seen: bool = False
    ) -> None:
        """The track was looked at in this frame and no plate was read (`plate_seen`: one was found)."""
        track = self._remember(key, at, box)
        if plate_seen and (track.look_until is None or at > track.look_until):
            track.look_until = at + self.seen_look_s
        track.misses += 1
        track.looked_at, track.looked_area = at, area

    def _remember(self, key: TrackKey, at: datetime, box: Box | None) -> _Track:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track(at)
        track.last_seen, track.box = at, box or track.box
        self._tracks.move_to_end(key)
        while len(self._tracks) > self.capacity:
            self._tracks.popitem(last=False)
        return track

    def forget_camera(self, camera: str) -> None:
        for key in [k for k in self._tracks if k[0] == camera]:
            del self._tracks[key]

"""Which tracked vehicles go on to the plate reader in this frame: each track on its best frames.

Reading a plate costs more than finding the vehicle (the plate localiser runs on every crop), and a
track seen on 18 frames a second gives the same plate 18 times. A track is read when it is new,
when its box has grown by `growth` over the largest box read so far (the car came closer: a
sharper plate), and otherwise every `every_s` of capture time (a waiting car stays in its sighting).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

MAX_TRACKS = 1024  # across cameras; the least recently seen go first


@dataclass
class _Read:
    at: datetime
    area: int


class ReadBudget:
    def __init__(self, every_s: float, growth: float) -> None:
        self.every_s = every_s
        self.growth = growth
        self._last: OrderedDict[tuple[str, int], _Read] = OrderedDict()

    def wants(self, camera: str, track_id: int | None, area: int, at: datetime) -> bool:
        if track_id is None or self.every_s <= 0:
            return True
        key = (camera, track_id)
        last = self._last.get(key)
        if (
            last is not None
            and area < last.area * (1 + self.growth)
            and abs((at - last.at).total_seconds()) < self.every_s
        ):
            return False
        self._last[key] = _Read(at, max(area, last.area if last else 0))
        self._last.move_to_end(key)
        while len(self._last) > MAX_TRACKS:
            self._last.popitem(last=False)
        return True

    def forget(self, camera: str) -> None:
        for key in [k for k in self._last if k[0] == camera]:
            del self._last[key]

"""How often the detector looks, at most: a detection every `every_s` of capture time per camera.

At 18 frames/s a car moves a few pixels between frames; the tracker matches it as well on every
fourth frame, and YOLO is most of the edge's CPU. The frames in between get no detection and an
empty message, as frames the motion gate skips: the tracker is not updated, so its tracks wait.
"""

from __future__ import annotations

from datetime import datetime

SLACK_S = 1e-3  # capture times of a 10 fps file are 0.1 s apart up to float rounding


class DetectPace:
    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._last: dict[str, datetime] = {}

    def due(self, camera: str, at: datetime) -> bool:
        """True when `every_s` has passed since the camera's last detection (or time went back)."""
        if self.every_s <= 0:
            return True
        last = self._last.get(camera)
        if last is None:
            return True
        since = (at - last).total_seconds()
        return since < 0 or since >= self.every_s - SLACK_S

    def detected(self, camera: str, at: datetime) -> None:
        self._last[camera] = at

    def forget(self, camera: str) -> None:
        self._last.pop(camera, None)

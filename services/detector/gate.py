"""Whether a frame is worth the detector: something moved, or it has not looked for a while.

The frame is shrunk to a small blurred grey image; it is compared with the image of the last frame
the detector looked at (not the previous frame, so a car creeping a few pixels per frame still adds
up to motion). Only the region of interest counts when one is set. After motion the detector keeps
looking for `hold_s`, while the scene settles. Without motion it still runs every `idle_detect_s`
of capture time: a car waiting at the barrier keeps being read, so its sighting stays open as it
would when every frame is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np


@dataclass
class _Seen:
    small: np.ndarray
    at: datetime  # when the detector last looked
    moved_at: datetime  # when it last saw motion


class MotionGate:
    def __init__(
        self,
        width: int,
        threshold: int,
        min_area: float,
        idle_detect_s: float,
        mask: RegionMask | None,
        hold_s: float = 0.0,
    ) -> None:
        self.width = width
        self.threshold = threshold
        self.min_area = min_area
        self.idle_detect_s = idle_detect_s
        self.hold_s = hold_s
        self.mask = mask
        self._seen: dict[str, _Seen] = {}

    def admits(self, camera: str, image: np.ndarray, at: datetime) -> bool:
        """True when the detector should look at this frame (it is then the new reference)."""
        small = self._small(image)
        seen = self._seen.get(camera)
        if (
            seen is None
            or seen.small.shape != small.shape
            or self.moved_fraction(seen.small, small) >= self.min_area
        ):
            self._seen[camera] = _Seen(small, at, at)
            return True
        # Still. Keep looking for hold_s after the last motion: the tracker confirms a new track on
        # its second frame, and the car that just stopped is read as it would be on every frame.
        since_look, since_motion = (
            abs((at - seen.at).total_seconds()),
            abs((at - seen.moved_at).total_seconds()),
        )
        if since_motion < self.hold_s or since_look >= self.idle_detect_s:
            self._seen[camera] = _Seen(small, at, seen.moved_at)
            return True
        return False

    def forget(self, camera: str) -> None:
        self._seen.pop(camera, None)

    def moved_fraction(self, before: np.ndarray, after: np.ndarray) -> float:
        changed = cv2.absdiff(before, after) > self.threshold
        if self.mask is None:
            return float(np.count_nonzero(changed)) / changed.size
        inside = self.mask.at(changed.shape)
        return float(np.count_nonzero(changed & inside)) / max(1, int(np.count_nonzero(inside)))

    def _small(self, image: np.ndarray) -> np.ndarray:
        """`image`: BGR, or grey (a preview decoded at a fraction of the frame's size)."""
        h, w = image.shape[:2]
        size = (self.width, max(1, round(h * self.width / w)))
        small = image if (w, h) == size else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        grey = small if small.ndim == 2 else cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return cv2.GaussianBlur(grey, (5, 5), 0)


class RegionMask:
    """A polygon in fractions of the frame (0..1), as a boolean mask of any image size."""

    def __init__(self, points: tuple[tuple[float, float], ...]) -> None:
        self.points = points
        self._masks: dict[tuple[int, ...], np.ndarray] = {}

    def at(self, shape: tuple[int, ...]) -> np.ndarray:
        mask = self._masks.get(shape[:2])
        if mask is None:
            h, w = shape[:2]
            poly = np.array([[round(x * (w - 1)), round(y * (h - 1))] for x, y in self.points], np.int32)
            canvas = np.zeros((h, w), np.uint8)
            cv2.fillPoly(canvas, [poly], 1)
            mask = self._masks[shape[:2]] = canvas.astype(bool)
        return mask

    def bounds(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The polygon's bounding box in pixels (x1, y1, x2, y2): what the detector looks at."""
        xs = [x * width for x, _ in self.points]
        ys = [y * height for _, y in self.points]
        x1, y1 = max(0, int(min(xs))), max(0, int(min(ys)))
        x2, y2 = min(width, int(np.ceil(max(xs)))), min(height, int(np.ceil(max(ys))))
        return x1, y1, x2, y2

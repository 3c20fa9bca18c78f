"""What the person at the terminal sees: a progress bar for files, an optional OpenCV window."""

from __future__ import annotations

import logging
from types import TracebackType

import cv2
import numpy as np
from tqdm import tqdm

from anpr.messages import FrameMessage

log = logging.getLogger("pipeline.viewer")
WINDOW = "ANPR - q to stop"


class Viewer:
    def __init__(self, show: bool, progress: bool) -> None:
        self.show = show
        self.progress = progress
        self._bar: tqdm | None = None

    def __enter__(self) -> Viewer:
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        if self._bar is not None:
            self._bar.close()
        if self.show:
            cv2.destroyAllWindows()

    def on_frame(self, frame: FrameMessage, total: int | None, image: np.ndarray | None = None) -> bool:
        """Advance the bar, show the picture; False when the person asked to stop."""
        if self.progress:
            if self._bar is None:
                self._bar = tqdm(total=total, unit="frame", desc=frame.camera)
            self._bar.update(1)
        if self.show and image is not None:
            try:
                cv2.imshow(WINDOW, image)
                return (cv2.waitKey(1) & 0xFF) != ord("q")
            except cv2.error as exc:  # a headless OpenCV build, or no display
                log.warning("cannot show a window (%s); continuing without it", exc.msg.strip())
                self.show = False
        return True

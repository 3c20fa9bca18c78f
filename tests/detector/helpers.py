"""Making frames for detector tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import cv2
import numpy as np

from anpr.messages import FrameMessage

T0 = datetime(2026, 1, 5, 8, 0, 0, tzinfo=timezone.utc)


def frame(
    jpeg: bytes, seq: int = 0, camera: str = "gate", end: bool = False, size: tuple[int, int] = (0, 0)
) -> FrameMessage:
    if size == (0, 0):
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        size = (image.shape[1], image.shape[0]) if image is not None else (640, 480)
    return FrameMessage(
        camera=camera,
        seq=seq,
        captured_at=T0 + timedelta(seconds=seq / 10),
        width=size[0],
        height=size[1],
        jpeg=jpeg,
        end_of_stream=end,
    )


def video_jpegs(path: Path, count: int, start: int = 0) -> Iterator[bytes]:
    cap = cv2.VideoCapture(str(path))
    try:
        cap.set(cv2.CAP_PROP_POS_FRAMES, start)
        for _ in range(count):
            ok, image = cap.read()
            assert ok, f"could not read a frame of {path}"
            yield cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    finally:
        cap.release()

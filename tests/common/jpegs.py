"""JPEGs whose header lies about their size: a real tiny JPEG with its frame header patched."""

from __future__ import annotations

import cv2
import numpy as np


def tiny_jpeg() -> bytes:
    image = np.random.default_rng(7).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 50])[1].tobytes()


def declaring(width: int, height: int) -> bytes:
    """A few hundred bytes of JPEG whose baseline frame header (SOF0) says `width` x `height`."""
    data = bytearray(tiny_jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)

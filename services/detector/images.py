"""JPEG in and out, and box arithmetic for crops."""

from __future__ import annotations

import cv2
import numpy as np

from anpr.messages import Box

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"


def decode_jpeg(data: bytes) -> np.ndarray | None:
    """BGR image, or None when `data` is not a complete JPEG. A truncated JPEG is refused too: OpenCV
    would decode it with the missing part grey, and a half-grey frame is not worth detecting on."""
    if not data.startswith(_SOI) or not data.rstrip(b"\x00").endswith(_EOI):
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return image if image is not None and image.size else None


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - only for an empty or unsupported image
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return buf.tobytes()


def clip_box(x1: float, y1: float, x2: float, y2: float, width: int, height: int) -> Box | None:
    """Integer box inside a `width` x `height` image; None when nothing of it is inside."""
    left, top = max(0, int(round(x1))), max(0, int(round(y1)))
    right, bottom = min(width, int(round(x2))), min(height, int(round(y2)))
    if right <= left or bottom <= top:
        return None
    return Box(x=left, y=top, w=right - left, h=bottom - top)


def padded(box: Box, fraction: float, width: int, height: int) -> Box:
    """`box` grown by `fraction` of its size on every side, clipped to the image."""
    dx, dy = box.w * fraction, box.h * fraction
    x1, y1, x2, y2 = box.xyxy
    grown = clip_box(x1 - dx, y1 - dy, x2 + dx, y2 + dy, width, height)
    return grown if grown is not None else box

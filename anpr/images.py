"""JPEG in and out for the edge services (needs OpenCV; the records service never imports it)."""

from __future__ import annotations

import cv2
import numpy as np

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"


def decode_jpeg(data: bytes) -> np.ndarray | None:
    """BGR image, or None when `data` is not a complete JPEG. A truncated JPEG is refused too: OpenCV
    would decode it with the missing part grey, and a half-grey picture is not worth reading."""
    if not data.startswith(_SOI) or not data.rstrip(b"\x00").endswith(_EOI):
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return image if image is not None and image.size else None


def encode_jpeg(image: np.ndarray, quality: int, max_width: int | None = None) -> bytes:
    """JPEG bytes of `image`, first scaled down to `max_width` when it is wider."""
    h, w = image.shape[:2]
    if max_width is not None and w > max_width:
        image = cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - only for an empty or unsupported image
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return buf.tobytes()

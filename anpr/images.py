"""JPEG in and out for the edge services (needs OpenCV; the records service never imports it)."""

from __future__ import annotations

import cv2
import numpy as np

_SOI, _EOI = b"\xff\xd8", b"\xff\xd9"
# Start-of-frame markers (every coding process); C4, C8 and CC share the range but are other segments.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOS = 0xDA
_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn and TEM carry no length


class ImageTooLarge(ValueError):
    """A JPEG whose header declares more pixels than the caller allows; it was not decoded."""


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) its frame header declares, read without decoding; None when there is none
    before the image data (not a JPEG, or a header cut short)."""
    if not data.startswith(_SOI):
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _SOF:
            if length < 7 or i + 9 > len(data):
                return None
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return (width, height) if width and height else None
        if marker == _SOS or length < 2:
            return None
        i += 2 + length
    return None


def decode_jpeg(data: bytes, max_pixels: int | None = None) -> np.ndarray | None:
    """BGR image, or None when `data` is not a complete JPEG. A truncated JPEG is refused too: OpenCV
    would decode it with the missing part grey, and a half-grey picture is not worth reading.

    With `max_pixels`, the declared size is checked first: a few hundred bytes can declare
    20000x20000, which OpenCV would allocate (gigabytes) before finding the data missing. Raises
    ImageTooLarge then."""
    if not data.startswith(_SOI) or not data.rstrip(b"\x00").endswith(_EOI):
        return None
    if max_pixels is not None:
        size = jpeg_size(data)
        if size is None:
            return None
        if size[0] * size[1] > max_pixels:
            raise ImageTooLarge(f"JPEG declares {size[0]}x{size[1]} pixels, over the {max_pixels} allowed")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return image if image is not None and image.size else None


_REDUCED_GREY = (
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
)


def decode_preview(data: bytes, min_width: int, max_pixels: int) -> np.ndarray | None:
    """A grey picture at least `min_width` wide (where the JPEG is), decoded at 1/2, 1/4 or 1/8 of its size:
    libjpeg scales in the DCT, so a 160 px preview of a 720p frame costs a fraction of a full decode. None
    when `data` is not a complete JPEG or declares more than `max_pixels`; the caller's full decode says why."""
    if not data.startswith(_SOI) or not data.rstrip(b"\x00").endswith(_EOI):
        return None
    size = jpeg_size(data)
    if size is None or size[0] * size[1] > max_pixels:
        return None
    flag = next((f for k, f in _REDUCED_GREY if size[0] // k >= min_width), cv2.IMREAD_GRAYSCALE)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    return image if image is not None and image.size else None


def decode_bounded(data: bytes, max_pixels: int, setting: str) -> tuple[np.ndarray | None, str]:
    """(image, "") or (None, why in words for the one log line): corrupt, or declaring more pixels
    than `setting` allows."""
    try:
        image = decode_jpeg(data, max_pixels)
    except ImageTooLarge as exc:
        return None, f"{exc} ({setting}); not decoded"
    if image is None:
        return None, f"corrupt or truncated JPEG ({len(data)} bytes)"
    return image, ""


def encode_jpeg(image: np.ndarray, quality: int, max_width: int | None = None) -> bytes:
    """JPEG bytes of `image`, first scaled down to `max_width` when it is wider."""
    h, w = image.shape[:2]
    if max_width is not None and w > max_width:
        image = cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - only for an empty or unsupported image
        raise ValueError(f"could not encode a {image.shape} image as JPEG")
    return buf.tobytes()

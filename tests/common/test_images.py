"""The JPEG helper reads the declared size from the header and refuses to decode what would not fit."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from anpr.images import ImageTooLarge, decode_jpeg, decode_preview, jpeg_size
from tests.common.jpegs import declaring, tiny_jpeg


def test_declared_size_matches_the_decoded_image_of_real_photos(data_dir: Path) -> None:
    photos = sorted((data_dir / "openalpr_benchmarks").glob("*/*.jpg"))[:60]
    assert photos
    for photo in photos:
        data = photo.read_bytes()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        assert jpeg_size(data) == (image.shape[1], image.shape[0]), photo.name


def test_progressive_jpegs_and_non_jpegs() -> None:
    image = np.zeros((9, 17, 3), np.uint8)
    progressive = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])[1].tobytes()
    assert jpeg_size(progressive) == (17, 9)
    for junk in (b"", b"\xff\xd8", b"\xff\xd8\xff\xda\x00\x02", b"GIF89a" * 10, tiny_jpeg()[:20]):
        assert jpeg_size(junk) is None
        assert decode_jpeg(junk, max_pixels=100) is None


def test_a_header_declaring_20000x20000_is_refused_without_decoding() -> None:
    bomb = declaring(20000, 20000)
    assert len(bomb) < 1000 and jpeg_size(bomb) == (20000, 20000)
    started = time.monotonic()
    with pytest.raises(ImageTooLarge, match="declares 20000x20000 pixels"):
        decode_jpeg(bomb, max_pixels=7680 * 4320)
    assert time.monotonic() - started < 0.1
    assert decode_jpeg(tiny_jpeg(), max_pixels=16 * 16).shape == (16, 16, 3)
    with pytest.raises(ImageTooLarge):
        decode_jpeg(tiny_jpeg(), max_pixels=16 * 16 - 1)


def test_a_preview_is_the_frame_in_grey_at_a_fraction_of_its_size(data_dir: Path) -> None:
    cap = cv2.VideoCapture(str(data_dir / "videos" / "us_gate_sequence.mp4"))
    ok, image = cap.read()
    cap.release()
    assert ok
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    h, w = image.shape[:2]
    preview = decode_preview(data, 160, 7680 * 4320)
    assert preview is not None and preview.ndim == 2
    assert preview.shape[1] >= 160 and preview.shape[1] in (w // 8, w // 4, w // 2)
    small = cv2.resize(image, (preview.shape[1], preview.shape[0]), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    assert float(np.mean(cv2.absdiff(grey, preview))) < 3  # the same picture, grey levels apart by JPEG loss
    assert decode_preview(data, 4 * w, 7680 * 4320).shape == (h, w)  # wider than the frame: full size
    assert decode_preview(data[: len(data) // 2], 160, 7680 * 4320) is None  # truncated
    assert decode_preview(declaring(20000, 20000), 160, 7680 * 4320) is None

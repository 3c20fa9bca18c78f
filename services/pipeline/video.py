"""The annotated video, in a form browsers play: H.264 (yuv420p) in MP4 with the index at the front,
written by PyAV (its wheels carry FFmpeg with libx264). OpenCV's mp4v writer is the fallback where
PyAV or its H.264 encoder is missing; that file plays in VLC but not in a browser."""

from __future__ import annotations

import contextlib
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

log = logging.getLogger("pipeline.video")


class VideoWriter:
    def __init__(self, path: Path, fps: float, size: tuple[int, int], preset: str = "ultrafast") -> None:
        self.path = path
        self.codec = "h264"
        self._av: Any = None
        self._cv: cv2.VideoWriter | None = None
        w, h = size
        try:
            self._open_av(path, fps, w - w % 2, h - h % 2, preset)  # yuv420p needs even sides
        except Exception as exc:  # ImportError, or an FFmpeg build without an H.264 encoder
            if self._av is not None:
                with contextlib.suppress(Exception):
                    self._av.close()
                self._av = None
            log.warning("no H.264 encoder (%s); writing mp4v, which browsers do not play", exc)
            self.codec = "mp4v"
            self._cv = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
            if not self._cv.isOpened():
                raise RuntimeError(
                    f"cannot write {path}: neither PyAV nor OpenCV can encode video here"
                ) from exc

    def _open_av(self, path: Path, fps: float, w: int, h: int, preset: str) -> None:
        import av

        self._av = av.open(str(path), "w", options={"movflags": "+faststart"})
        stream = self._av.add_stream("h264", rate=Fraction(fps).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        # On two cores the video must not cost what the detector does: see PipelineSettings.video_preset.
        stream.options = {"preset": preset, "crf": "23"}
        self._stream = stream

    def write(self, image: np.ndarray) -> None:
        if self._cv is not None:
            self._cv.write(image)
            return
        import av

        s = self._stream
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image[: s.height, : s.width]), format="bgr24")
        for packet in s.encode(frame):
            self._av.mux(packet)

    def close(self) -> None:
        if self._cv is not None:
            self._cv.release()
        elif self._av is not None:
            for packet in self._stream.encode():  # flush the encoder's delayed frames
                self._av.mux(packet)
            self._av.close()

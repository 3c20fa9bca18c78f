"""What a `CAPTURE_SOURCE` string means, and how OpenCV opens it.

path/to/clip.mp4          a video file (ends; played at real time or as fast as downstream keeps up)
rtsp://…  http(s)://…     a network stream (FFmpeg)
0   /dev/video0           a USB (V4L2) camera
csi://0   csi://1         the Jetson CSI camera through nvarguscamerasrc (needs OpenCV with GStreamer)
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import cv2

_CSI = re.compile(r"^csi://(\d+)$")
_USB_INDEX = re.compile(r"^\d+$")
_USB_DEVICE = re.compile(r"^/dev/video\d+$")
_STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


class SourceKind(str, enum.Enum):
    FILE = "file"
    STREAM = "stream"
    USB = "usb"
    CSI = "csi"


@dataclass(frozen=True)
class Source:
    kind: SourceKind
    target: str | int  # what cv2.VideoCapture opens (for CSI: the sensor id)

    @property
    def live(self) -> bool:
        return self.kind is not SourceKind.FILE

    def describe(self) -> str:
        """For logs: a stream URL without its password."""
        return (
            redact(str(self.target)) if self.kind is SourceKind.STREAM else f"{self.kind.value}:{self.target}"
        )


def parse_source(text: str) -> Source:
    text = text.strip()
    if not text:
        raise ValueError("the capture source is empty")
    if m := _CSI.match(text):
        return Source(SourceKind.CSI, int(m.group(1)))
    if text.startswith("csi:"):
        raise ValueError(f"CSI source {text!r} must look like csi://0 (the sensor id)")
    if _USB_INDEX.match(text):
        return Source(SourceKind.USB, int(text))
    if _USB_DEVICE.match(text):
        return Source(SourceKind.USB, text)
    if m := _SCHEME.match(text):
        if m.group(1).lower() not in _STREAM_SCHEMES:
            raise ValueError(
                f"unsupported source scheme {m.group(1)!r}; use one of {', '.join(_STREAM_SCHEMES)}"
            )
        return Source(SourceKind.STREAM, text)
    return Source(SourceKind.FILE, str(Path(text).expanduser()))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def csi_pipeline(
    sensor_id: int,
    width: int = 1920,
    height: int = 1080,
    fps: int = 30,
    flip: int = 0,
    out_size: tuple[int, int] | None = None,
) -> str:
    """GStreamer pipeline for a Jetson CSI camera, ending in a BGR appsink for OpenCV.

    nvvidconv cannot emit BGR, so it emits BGRx and videoconvert drops the x. When an output size
    is given nvvidconv scales on the VIC first, which spares the Jetson's CPU a full-size convert.
    `drop=true max-buffers=1` keeps only the newest frame: a slow reader gets fresh frames, not lag.
    """
    scaled = f", width=(int){out_size[0]}, height=(int){out_size[1]}" if out_size else ""
    return (
        f"nvarguscamerasrc sensor-id={sensor_id} ! "
        f"video/x-raw(memory:NVMM), width=(int){width}, height=(int){height}, "
        f"framerate=(fraction){fps}/1, format=(string)NV12 ! "
        f"nvvidconv flip-method={flip} ! video/x-raw{scaled}, format=(string)BGRx ! "
        "videoconvert ! video/x-raw, format=(string)BGR ! "
        "appsink drop=true max-buffers=1 sync=false"
    )


def has_gstreamer() -> bool:
    return bool(cv2.videoio_registry.hasBackend(cv2.CAP_GSTREAMER))


def open_capture(
    source: Source, *, timeout_s: float, csi_pipeline_text: str | None = None
) -> cv2.VideoCapture:
    """Open `source`; the caller checks `isOpened()`."""
    if source.kind is SourceKind.CSI:
        assert csi_pipeline_text is not None
        return cv2.VideoCapture(csi_pipeline_text, cv2.CAP_GSTREAMER)
    if source.kind is SourceKind.STREAM:
        ms = int(timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        return cv2.VideoCapture(str(source.target), cv2.CAP_ANY, params)
    if source.kind is SourceKind.USB:
        cap = cv2.VideoCapture(source.target)
        if cap.isOpened():
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # newest frame, not a queue of old ones
        return cap
    return cv2.VideoCapture(str(source.target), cv2.CAP_ANY)

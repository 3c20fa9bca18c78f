"""Real footage cut into short clips, and a stand-in for the detector → OCR chain over MQTT."""

from __future__ import annotations

import queue
import threading
import time
import uuid
from pathlib import Path

import cv2
import paho.mqtt.client as mqtt

from anpr.messages import FrameMessage, Kind, ReadsMessage, decode, encode, topic


def make_clip(src: Path, dest: Path, frames: int, fps: float, width: int = 320) -> Path:
    """The first `frames` frames of a real video, scaled down, as an MJPG AVI (a container whose
    truncation still opens, unlike an mp4 with its index at the end)."""
    cap = cv2.VideoCapture(str(src))
    writer = None
    try:
        for _ in range(frames):
            ok, image = cap.read()
            assert ok, f"{src} has fewer than {frames} frames"
            image = cv2.resize(image, (width, round(image.shape[0] * width / image.shape[1])))
            if writer is None:
                size = (image.shape[1], image.shape[0])
                writer = cv2.VideoWriter(str(dest), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
                assert writer.isOpened()
            writer.write(image)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    return dest


class Downstream:
    """Stands in for detector → OCR: answers each frame with a ReadsMessage for its seq after
    `delay_s`. Frames are timed as they arrive off the network (paho's thread), answers as they are
    published, so `max_unanswered` is seen from outside the capture, not taken from its own count."""

    def __init__(self, host: str, port: int, prefix: str, camera: str, delay_s: float) -> None:
        self.delay_s = delay_s
        self.frames: list[FrameMessage] = []
        self.arrived: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self.done = threading.Event()
        self._host, self._port = host, port
        self._frames_topic = topic(prefix, Kind.FRAMES, camera)
        self._reads_topic = topic(prefix, Kind.READS, camera)
        self._inbox: queue.Queue[FrameMessage | None] = queue.Queue()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"downstream-{uuid.uuid4().hex}"
        )
        self._client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *a: self._subscribed.set()
        self._worker = threading.Thread(target=self._work, daemon=True)

    def __enter__(self) -> Downstream:
        self._client.connect(self._host, self._port)
        self._client.loop_start()
        self._client.subscribe(self._frames_topic, qos=1)
        assert self._subscribed.wait(10), "downstream could not subscribe"
        self._worker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._inbox.put(None)
        self._worker.join(timeout=10)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def seqs(self) -> list[int]:
        return [f.seq for f in self.frames]

    def max_unanswered(self) -> int:
        """The most frames that had arrived and were not yet answered, at any arrival."""
        worst = 0
        for t in self.arrived.values():
            pending = sum(
                1 for s, a in self.arrived.items() if a <= t and self.answered.get(s, float("inf")) > t
            )
            worst = max(worst, pending)
        return worst

    def _on_message(self, _client: object, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        frame = decode(FrameMessage, msg.payload)
        self.arrived[frame.seq] = time.monotonic()
        self._inbox.put(frame)

    def _work(self) -> None:
        while (frame := self._inbox.get()) is not None:
            self.frames.append(frame)
            time.sleep(self.delay_s)
            reads = ReadsMessage(camera=frame.camera, seq=frame.seq, captured_at=frame.captured_at)
            self.answered[frame.seq] = time.monotonic()
            self._client.publish(self._reads_topic, encode(reads), qos=1)
            if frame.end_of_stream:
                self.done.set()

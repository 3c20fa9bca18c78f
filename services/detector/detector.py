"""The detector stage: frame in, vehicles with track ids and padded crops out."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np

from anpr.images import decode_bounded, decode_preview, encode_jpeg, jpeg_size
from anpr.messages import FrameMessage, VehicleClass, VehicleCrop, VehiclesMessage
from services.detector.budget import ReadBudget
from services.detector.gate import MotionGate, RegionMask
from services.detector.images import clip_box, padded
from services.detector.pace import DetectPace
from services.detector.settings import DetectorSettings
from services.detector.yolo import ModelUnavailable, load_tracker_class, load_yolo

log = logging.getLogger("detector")

VEHICLE_NAMES = {c.value: c for c in VehicleClass}  # COCO names: car 2, motorcycle 3, bus 5, truck 7


class VehicleDetector:
    """Ultralytics detection plus one tracker per camera, so that frames of different cameras never
    share tracks. Detection runs with the tracker's low threshold, because ByteTrack keeps a track
    alive through weak detections; only vehicles at `confidence` or above are published. NMS is
    class-agnostic: one vehicle seen as both car and truck must stay one vehicle (one track, one read).

    With the motion gate on, a frame where nothing moved gets no detection and no vehicles; the
    tracker is not updated either, so its tracks wait for the next frame it sees instead of ageing.
    With `detect_every_s`, frames closer than that to the last detection get none either (pace.py).
    With a region of interest, only the region's bounding box is detected. A tracked vehicle is
    published only on the frames it is to be read on (budget.py)."""

    def __init__(self, settings: DetectorSettings) -> None:
        self.settings = settings
        self._model = load_yolo(
            settings.model, imgsz=settings.imgsz, device=settings.device, threads=settings.threads
        )
        self._tracker_cls, self._tracker_cfg = load_tracker_class(settings.tracker)
        self._classes = self._vehicle_classes(self._model.names)
        low = float(getattr(self._tracker_cfg, "track_low_thresh", settings.confidence))
        self._detect_conf = min(settings.confidence, low)
        self._trackers: dict[str, Any] = {}
        self._region = RegionMask(settings.roi) if settings.roi else None
        self._gate = (
            MotionGate(
                settings.motion_width,
                settings.motion_threshold,
                settings.motion_min_area,
                settings.idle_detect_s,
                self._region,
                settings.motion_hold_s,
            )
            if settings.motion_gate
            else None
        )
        self._budget = ReadBudget(settings.read_every_s, settings.read_growth)
        self._pace = DetectPace(settings.detect_every_s)

    def process(self, frame: FrameMessage) -> VehiclesMessage:
        """Always one message per frame: downstream stages use it as their clock."""
        vehicles: tuple[VehicleCrop, ...] = ()
        width, height = jpeg_size(frame.jpeg) or (frame.width, frame.height)
        image = self._looked_at(frame)
        if image is not None:
            height, width = image.shape[:2]
            vehicles = tuple(self._track(frame.camera, image, frame.captured_at))
        if frame.end_of_stream:
            self._trackers.pop(frame.camera, None)  # the next stream is other footage: fresh track ids
            self._budget.forget(frame.camera)
            self._pace.forget(frame.camera)
            if self._gate is not None:
                self._gate.forget(frame.camera)
        return VehiclesMessage(
            camera=frame.camera,
            seq=frame.seq,
            captured_at=frame.captured_at,
            width=width,
            height=height,
            vehicles=vehicles,
            end_of_stream=frame.end_of_stream,
        )

    def _looked_at(self, frame: FrameMessage) -> np.ndarray | None:
        """The frame's picture when the detector is to look at it: its pace allows it and the motion gate
        admits it. The gate sees a small grey preview, decoded at a fraction of the frame's size, so a
        still frame costs no full decode."""
        camera, at = frame.camera, frame.captured_at
        if not self._pace.due(camera, at):
            return None
        if self._gate is not None:
            preview = decode_preview(frame.jpeg, self.settings.motion_width, self.settings.max_frame_pixels)
            if preview is not None and not self._gate.admits(camera, preview, at):
                return None
        image = self._decode(frame)
        if image is not None:
            self._pace.detected(camera, at)
        return image

    def _decode(self, frame: FrameMessage) -> np.ndarray | None:
        image, why = decode_bounded(frame.jpeg, self.settings.max_frame_pixels, "DETECTOR_MAX_FRAME_PIXELS")
        if image is None:
            log.warning("camera %s frame %d: %s; no detection", frame.camera, frame.seq, why)
        return image

    def _track(self, camera: str, image: np.ndarray, at: datetime) -> list[VehicleCrop]:
        detections = self._detect(image)
        tracker = self._trackers.get(camera)
        if tracker is None:
            tracker = self._trackers[camera] = self._tracker_cls(args=self._tracker_cfg)
        tracks = tracker.update(detections, image)
        height, width = image.shape[:2]
        out = []
        for row in tracks:
            i = int(row[-1])  # index of the detection the track matched in this frame
            score, cls = float(detections.conf[i]), int(detections.cls[i])
            box = clip_box(*detections.xyxy[i], width, height)
            if (
                score < self.settings.confidence
                or box is None
                or min(box.w, box.h) < self.settings.min_box_px
            ):
                continue
            if not self._budget.wants(camera, int(row[4]), box.w * box.h, at):
                continue
            crop_box = padded(box, self.settings.crop_padding, width, height)
            x1, y1, x2, y2 = crop_box.xyxy
            out.append(
                VehicleCrop(
                    vehicle_class=self._classes[cls],
                    confidence=min(1.0, score),
                    track_id=int(row[4]),
                    box=box,
                    crop_box=crop_box,
                    jpeg=encode_jpeg(image[y1:y2, x1:x2], self.settings.crop_jpeg_quality),
                )
            )
        return out

    def _detect(self, image: np.ndarray) -> Any:
        x1, y1 = 0, 0
        if self._region is not None:
            x1, y1, x2, y2 = self._region.bounds(image.shape[1], image.shape[0])
            image = image[y1:y2, x1:x2]
        result = self._model.predict(
            image,
            imgsz=self.settings.imgsz,
            conf=self._detect_conf,
            classes=list(self._classes),
            device=self.settings.device,
            agnostic_nms=True,
            verbose=False,
        )[0]
        boxes = result.boxes.cpu().numpy()
        if x1 or y1:  # back to frame coordinates, before anything reads (and caches) them
            boxes.data[:, [0, 2]] += x1
            boxes.data[:, [1, 3]] += y1
        return boxes

    @staticmethod
    def _vehicle_classes(names: dict[int, str]) -> dict[int, VehicleClass]:
        classes = {i: VEHICLE_NAMES[n] for i, n in names.items() if n in VEHICLE_NAMES}
        if not classes:
            raise ModelUnavailable(
                f"the detector model has none of the classes {sorted(VEHICLE_NAMES)}; use a COCO-trained model"
            )
        return classes

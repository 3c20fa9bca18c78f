"""The OCR stage: vehicles in, plate reads out."""

from __future__ import annotations

import logging

import numpy as np

from anpr.images import decode_bounded, encode_jpeg
from anpr.messages import Box, Candidate, PlateRead, ReadsMessage, VehicleCrop, VehiclesMessage
from anpr.plates import normalize
from services.ocr.engine import PlateEngine, PlateResult, build_engine
from services.ocr.memory import TrackReads
from services.ocr.settings import OcrSettings

log = logging.getLogger("ocr")
SNAPSHOT_QUALITY = 80  # small pictures for people; the plate itself is in the read


class PlateReader:
    """One ReadsMessage per VehiclesMessage, so the aggregator's clock moves on every frame."""

    def __init__(self, settings: OcrSettings, engine: PlateEngine | None = None) -> None:
        self.settings = settings
        self.engine = engine or build_engine(settings)
        self.tracks = TrackReads(
            settings.track_memory,
            settings.track_forget_s,
            settings.reread_growth,
            settings.track_confident_reads,
            settings.track_free_misses,
            settings.track_miss_wait_s,
            settings.track_miss_wait_max_s,
            settings.track_miss_growth,
            settings.track_seen_look_s,
        )

    def process(self, msg: VehiclesMessage) -> ReadsMessage:
        reads = []
        for vehicle in msg.vehicles:
            key = (msg.camera, vehicle.track_id) if vehicle.track_id is not None else None
            area = vehicle.box.w * vehicle.box.h
            if key is not None and not self.tracks.wants(key, area, msg.captured_at, vehicle.box):
                continue
            read, plate_seen = self._read(msg, vehicle)
            if read is not None:
                reads.append(read)
            if key is None:
                continue
            if read is None:  # no plate, or none readable: looked at less often while that lasts
                self.tracks.missed(key, area, msg.captured_at, vehicle.box, plate_seen)
            else:
                confident = read.confidence >= self.settings.confident_read
                self.tracks.read(key, area, msg.captured_at, confident, vehicle.box)
        if msg.end_of_stream:
            self.tracks.forget_camera(msg.camera)  # the detector restarts its track ids too
        return ReadsMessage(
            camera=msg.camera,
            seq=msg.seq,
            captured_at=msg.captured_at,
            reads=tuple(reads),
            end_of_stream=msg.end_of_stream,
        )

    def _read(self, msg: VehiclesMessage, vehicle: VehicleCrop) -> tuple[PlateRead | None, bool]:
        """The vehicle's plate read, and whether a plate was seen at all (read or not)."""
        crop = self._decode(msg, vehicle)
        if crop is None:
            return None, False
        try:
            result = self.engine.read(crop)
        except Exception:  # one odd crop must not cost the whole frame's message
            log.exception(
                "camera %s frame %d track %s: %s engine failed; vehicle skipped",
                msg.camera,
                msg.seq,
                vehicle.track_id,
                self.engine.name,
            )
            return None, False
        if result is None:
            return None, False
        return self._plate_read(msg, vehicle, crop, result), True

    def _plate_read(
        self, msg: VehiclesMessage, vehicle: VehicleCrop, crop: np.ndarray, result: PlateResult
    ) -> PlateRead | None:
        if result.confidence < self.settings.min_confidence:
            return None
        normalized = normalize(result.text)
        if not 1 <= len(normalized) <= 12:
            return None
        candidates = tuple(
            Candidate(text=t, confidence=_unit(p)) for t, p in result.candidates if 1 <= len(t) <= 16
        )
        return PlateRead(
            text=(result.raw or result.text)[:16],
            normalized=normalized,
            confidence=_unit(result.confidence),
            candidates=candidates,
            plate_box=_plate_box(result, msg, vehicle, crop),
            vehicle_box=vehicle.box,
            vehicle_class=vehicle.vehicle_class,
            track_id=vehicle.track_id,
            engine=self.engine.name,
            captured_at=msg.captured_at,
            snapshot_jpeg=encode_jpeg(crop, SNAPSHOT_QUALITY, self.settings.snapshot_width),
        )

    def _decode(self, msg: VehiclesMessage, vehicle: VehicleCrop) -> np.ndarray | None:
        crop, why = decode_bounded(vehicle.jpeg, self.settings.max_crop_pixels, "OCR_MAX_CROP_PIXELS")
        if crop is None:
            log.warning(
                "camera %s frame %d track %s: vehicle crop: %s; skipped",
                msg.camera,
                msg.seq,
                vehicle.track_id,
                why,
            )
        return crop


def _plate_box(
    result: PlateResult, msg: VehiclesMessage, vehicle: VehicleCrop, crop: np.ndarray
) -> Box | None:
    """The plate in frame coordinates (the crop JPEG may have been resized on the way), clipped to
    the frame: a crop box the detector placed partly outside it must not make an invalid box."""
    if result.box is None:
        return None
    sx, sy = vehicle.crop_box.w / crop.shape[1], vehicle.crop_box.h / crop.shape[0]
    b = result.box
    x1 = min(msg.width, vehicle.crop_box.x + round(b.x * sx))
    y1 = min(msg.height, vehicle.crop_box.y + round(b.y * sy))
    x2 = min(msg.width, x1 + max(1, round(b.w * sx)))
    y2 = min(msg.height, y1 + max(1, round(b.h * sy)))
    return Box(x=x1, y=y1, w=x2 - x1, h=y2 - y1) if x2 > x1 and y2 > y1 else None


def _unit(p: float) -> float:
    return min(1.0, max(0.0, float(p)))

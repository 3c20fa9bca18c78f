"""Where the plate is inside a vehicle crop: an OpenCV cascade, a YOLO plate model, or the
open-image-models plate detector. Each returns boxes in crop coordinates, most likely first."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from anpr.inference_only import without_triton
from anpr.messages import Box
from services.ocr.engine import EngineUnavailable
from services.ocr.settings import DEFAULT_OIM_MODEL, OcrSettings

log = logging.getLogger("ocr")


class Localiser(Protocol):
    def locate(self, image: np.ndarray) -> list[Box]: ...


class CascadeLocaliser:
    """OpenCV cascade (OpenALPR's US plate cascade is an LBP cascade). Boxes are ranked by the
    cascade's final-stage weight, which measured well against the benchmark's labelled plates."""

    def __init__(
        self, path: Path, *, min_size: tuple[int, int] = (36, 18), neighbours: int = 3, max_width: int = 0
    ) -> None:
        if not path.is_file():
            raise EngineUnavailable(
                f"plate cascade not found: {path}; set OCR_LOCALISER_MODEL to an OpenCV cascade XML such as "
                "OpenALPR's runtime_data/region/us.xml"
            )
        if not hasattr(cv2, "CascadeClassifier"):
            raise EngineUnavailable(
                "this OpenCV build has no CascadeClassifier: install opencv-python-headless<5"
            )
        try:
            self._cascade = cv2.CascadeClassifier(str(path))
            unusable = self._cascade.empty()
        except (cv2.error, SystemError):  # OpenCV raises on some malformed files instead of loading nothing
            unusable = True
        if unusable:
            raise EngineUnavailable(f"{path} is not an OpenCV cascade classifier")
        self._min_size = min_size
        self._neighbours = neighbours
        self._max_width = max_width

    def locate(self, image: np.ndarray) -> list[Box]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        scale = 1.0
        if self._max_width and gray.shape[1] > self._max_width:
            scale = gray.shape[1] / self._max_width
            size = (self._max_width, max(1, round(gray.shape[0] / scale)))
            gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        if gray.shape[0] < self._min_size[1] or gray.shape[1] < self._min_size[0]:
            return []
        boxes, _levels, weights = self._cascade.detectMultiScale3(
            gray, 1.1, self._neighbours, minSize=self._min_size, outputRejectLevels=True
        )
        found = (
            _box(*(np.array([x, y, x + w, y + h]) * scale), image)
            for x, y, w, h in (boxes[i] for i in strongest_first(boxes, weights))
        )
        return [b for b in found if b is not None]


def strongest_first(boxes: Any, weights: Any) -> list[int]:
    """The cascade's boxes by weight, ties by position and size. OpenCV gathers them from parallel
    workers in whatever order they finish, and the reader tries boxes in this order, so without the
    tie-break two runs over the same frame could read different plates."""
    if not len(boxes):
        return []
    rows = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    weight = np.asarray(weights, dtype=np.float64).ravel()
    # lexsort's last key is the primary one
    return [int(i) for i in np.lexsort((rows[:, 3], rows[:, 2], rows[:, 0], rows[:, 1], -weight))]


class YoloLocaliser:
    """An Ultralytics YOLO plate model given by local path (Ultralytics is an optional dependency here)."""

    def __init__(self, path: Path, confidence: float, size: int = 640) -> None:
        if not path.exists():
            raise EngineUnavailable(
                f"YOLO plate model not found: {path}; set OCR_LOCALISER_MODEL to its path"
            )
        os.environ.setdefault("YOLO_AUTOINSTALL", "false")  # never pip-install at run time
        os.environ.setdefault("YOLO_OFFLINE", "true")
        without_triton()
        try:
            from ultralytics import YOLO
        except ImportError as exc:
            raise EngineUnavailable("OCR_LOCALISER=yolo needs Ultralytics: pip install ultralytics") from exc
        self._model = YOLO(str(path), task="detect")
        self._confidence = confidence
        self._size = size

    def locate(self, image: np.ndarray) -> list[Box]:
        found = self._model.predict(image, conf=self._confidence, imgsz=self._size, verbose=False)
        boxes = found[0].boxes.cpu().numpy()
        order = np.argsort(-boxes.conf)
        return [b for b in (_box(*boxes.xyxy[i], image) for i in order) if b is not None]


class OpenImageModelsLocaliser:
    """open-image-models' plate detector by its model name; the library fetches the model on first use."""

    def __init__(self, model_name: str, confidence: float) -> None:
        try:
            from open_image_models import LicensePlateDetector
        except ImportError as exc:
            raise EngineUnavailable(
                "OCR_LOCALISER=open-image-models needs the library: pip install open-image-models "
                "(or use OCR_LOCALISER=cascade with OCR_LOCALISER_MODEL=<OpenCV cascade XML>)"
            ) from exc
        try:
            self._detector: Any = LicensePlateDetector(detection_model=model_name, conf_thresh=confidence)
        except Exception as exc:
            raise EngineUnavailable(
                f"open-image-models could not load {model_name!r} ({exc}); it downloads the model on first use, "
                "which needs internet access"
            ) from exc

    def locate(self, image: np.ndarray) -> list[Box]:
        found = sorted(self._detector.predict(image), key=lambda d: -d.confidence)
        bbs = [d.bounding_box for d in found]
        return [b for b in (_box(bb.x1, bb.y1, bb.x2, bb.y2, image) for bb in bbs) if b is not None]


def build_localiser(settings: OcrSettings) -> Localiser:
    if settings.localiser == "open-image-models":
        return OpenImageModelsLocaliser(
            settings.localiser_model or DEFAULT_OIM_MODEL, settings.localiser_confidence
        )
    if not settings.localiser_model:
        raise EngineUnavailable(
            f"OCR_LOCALISER={settings.localiser} needs OCR_LOCALISER_MODEL: "
            + (
                "the path of an OpenCV plate cascade such as OpenALPR's runtime_data/region/us.xml"
                if settings.localiser == "cascade"
                else "the path of a YOLO plate model"
            )
        )
    path = Path(settings.localiser_model).expanduser()
    if settings.localiser == "yolo":
        return YoloLocaliser(path, settings.localiser_confidence)
    return CascadeLocaliser(path, max_width=settings.cascade_max_width)


def build_second_localiser(settings: OcrSettings) -> Localiser | None:
    """The YOLO plate model asked only where the first localiser's best read is doubtful."""
    if not settings.second_localiser_model:
        return None
    return YoloLocaliser(
        Path(settings.second_localiser_model).expanduser(),
        settings.localiser_confidence,
        settings.second_localiser_size,
    )


def _box(x1: float, y1: float, x2: float, y2: float, image: np.ndarray) -> Box | None:
    h, w = image.shape[:2]
    left, top, right, bottom = (
        max(0, int(x1)),
        max(0, int(y1)),
        min(w, int(round(x2))),
        min(h, int(round(y2))),
    )
    return Box(x=left, y=top, w=right - left, h=bottom - top) if right > left and bottom > top else None

"""Loading an Ultralytics model without surprises at run time.

Ultralytics, left to itself, pip-installs missing requirements, looks up DNS to decide whether it is
online, and sends usage analytics. A service must do none of that: a missing dependency is a start-up
error that says what to install, and a local model never touches the network. The environment
switches are read when `ultralytics` is first imported, so they are set before that import; the
module flags are set as well in case something imported Ultralytics earlier in this process.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from anpr.inference_only import without_triton
from anpr.models import ModelMissing, fetch, looks_local
from anpr.service import StartupError
from services.detector.settings import model_need

log = logging.getLogger("detector")


class ModelUnavailable(StartupError):
    """The detector model (or what it needs to run) is missing; the message says what to do."""


is_local_model = looks_local  # a path rather than an Ultralytics model name like 'yolo11n.pt'


def load_yolo(
    model: str, *, imgsz: int = 640, device: str | None = None, task: str = "detect", threads: int = 0
) -> Any:
    """`ultralytics.YOLO(model)`, loaded and run once on a blank image, so that a broken model fails at
    start-up rather than on the first frame. A model name is fetched into Ultralytics' weights folder on
    first use (anpr.models) and loaded from there; nothing is downloaded or installed for a local model."""
    try:
        path = fetch(model_need(model))
    except ModelMissing as exc:
        raise ModelUnavailable(str(exc)) from exc
    ultralytics = _import_ultralytics(offline=True)
    _set_cpu_threads(threads)
    try:
        yolo = ultralytics.YOLO(str(path), task=task)
        yolo.predict(np.zeros((imgsz, imgsz, 3), np.uint8), imgsz=imgsz, device=device, verbose=False)
        return yolo
    except ModuleNotFoundError as exc:
        raise ModelUnavailable(
            f"running {model} needs the Python package {exc.name!r}, which is not installed "
            f"(e.g. 'pip install ai-edge-litert' for .tflite, 'pip install onnxruntime' for .onnx)"
        ) from exc
    except Exception as exc:
        raise ModelUnavailable(
            f"could not load the detector model {path.resolve()} (DETECTOR_MODEL={model}): {exc}; "
            "check that the file is a complete Ultralytics export"
        ) from exc


def load_tracker_class(tracker_cfg: str) -> tuple[type, Any]:
    """The tracker class and its config namespace from an Ultralytics tracker YAML (name or path)."""
    _import_ultralytics(offline=False)
    try:
        from ultralytics.trackers.track import TRACKER_MAP
    except ImportError as exc:  # ByteTrack's matching needs `lap`; Ultralytics would pip-install it
        raise ModelUnavailable(
            f"the Ultralytics tracker needs the Python package {exc.name or 'lap'!r}: pip install 'lap>=0.5.12'"
        ) from exc
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    try:
        cfg = IterableSimpleNamespace(**YAML.load(check_yaml(tracker_cfg)))
    except FileNotFoundError as exc:
        raise ModelUnavailable(
            f"tracker config {tracker_cfg!r} not found; use 'bytetrack.yaml' or a path to a tracker YAML"
        ) from exc
    if cfg.tracker_type not in TRACKER_MAP:
        raise ModelUnavailable(f"tracker type {cfg.tracker_type!r} is not one of {sorted(TRACKER_MAP)}")
    return TRACKER_MAP[cfg.tracker_type], cfg


def _import_ultralytics(*, offline: bool) -> Any:
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    if offline:
        os.environ.setdefault("YOLO_OFFLINE", "true")
    without_triton()
    import ultralytics
    import ultralytics.utils.checks as checks
    import ultralytics.utils.events as events

    checks.AUTOINSTALL = False
    events.events.enabled = False  # no usage analytics from a service
    return ultralytics


def _set_cpu_threads(threads: int) -> None:
    """Threads of a TFLite model's CPU inference; 0: every core. Ultralytics' own choice is one core less
    than the machine has (a core kept for its data loaders), which on a 2-core box runs the detector on
    one core while it waits for nothing: the pipeline's other stages have threads of their own and
    take the other core when they have work (gate footage 2.15x → 2.85x real time, pipeline README)."""
    import ultralytics.nn.backends.litert as litert  # the module reads it when a model is loaded

    litert.NUM_THREADS = threads if threads > 0 else (os.cpu_count() or 1)

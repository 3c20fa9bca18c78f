"""Where each model comes from: a local file, or a name that its library fetches from its hub on first
use and keeps in its own cache, so that later runs need no internet.

`require` resolves every model a run needs before any is loaded: a machine with no internet and no
models gets one message listing all of them, with the setting that points each at a local file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from anpr.service import StartupError


class Hub(str, Enum):
    ULTRALYTICS = "Ultralytics"
    FAST_PLATE_OCR = "fast-plate-ocr"
    OPEN_IMAGE_MODELS = "open-image-models"


@dataclass(frozen=True)
class ModelNeed:
    role: str  # what a person calls it: "vehicle detector"
    setting: str  # the variable that chooses it: DETECTOR_MODEL
    value: str  # a local path, or a hub name when `hub` is set
    hub: Hub | None  # None: `value` must be a local file
    local_hint: str  # what a local replacement looks like


class ModelMissing(StartupError):
    """One model is neither here nor fetchable; the message is one line naming the setting."""


class ModelsMissing(StartupError):
    """Every missing model of a run, in one message."""


def looks_local(value: str) -> bool:
    """A path (it exists, or it names a folder) rather than a hub name such as 'yolo11n.pt'."""
    return Path(value).expanduser().exists() or os.sep in value or "/" in value


def fetch(need: ModelNeed) -> Path:
    """The model's local path: the file itself, or the library's cached copy (downloaded on first use)."""
    if not need.value:
        raise ModelMissing(f"{need.setting} ({need.role}) is not set: set it to {need.local_hint}")
    if need.hub is None:
        path = Path(need.value).expanduser()
        if not path.exists():
            raise ModelMissing(
                f"{need.setting}={need.value} ({need.role}): no such file {path.resolve()}; "
                f"set {need.setting} to {need.local_hint}"
            )
        return path
    try:
        return _FETCHERS[need.hub](need.value)
    except Exception as exc:  # the libraries raise URLError, ConnectionError, ValueError, ...
        reason = (str(exc).replace("❌", "").strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ModelMissing(
            f"{need.setting}={need.value} ({need.role}): {need.hub.value} has no cached copy and could not "
            f"fetch it ({reason}); connect to the internet once, or set {need.setting} to {need.local_hint}"
        ) from exc


def require(needs: Sequence[ModelNeed]) -> dict[str, Path]:
    """Every model's local path, by setting; ModelsMissing listing all that are missing."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for need in needs:
        try:
            found[need.setting] = fetch(need)
        except ModelMissing as exc:
            missing.append(str(exc))
    if missing:
        raise ModelsMissing(
            f"{len(missing)} model(s) missing (no internet to fetch them, or the file is not there):\n  - "
            + "\n  - ".join(missing)
        )
    return found


def _ultralytics(name: str) -> Path:
    # Into Ultralytics' own weights folder rather than the working directory, where it would land otherwise.
    os.environ.setdefault("YOLO_AUTOINSTALL", "false")
    from ultralytics.utils import SETTINGS
    from ultralytics.utils.downloads import attempt_download_asset

    target = Path(SETTINGS["weights_dir"]) / name
    if not target.is_file():
        attempt_download_asset(str(target), retry=1)
    if not target.is_file():
        raise FileNotFoundError(f"{name} is not an Ultralytics release asset")
    return target


def _fast_plate_ocr(name: str) -> Path:
    from fast_plate_ocr.inference.hub import download_model

    model, _config = download_model(name)  # type: ignore[arg-type]  # the library checks the name
    return Path(model)


def _open_image_models(name: str) -> Path:
    from open_image_models.detection.core.hub import download_model

    return Path(download_model(name))  # type: ignore[arg-type]


_FETCHERS = {
    Hub.ULTRALYTICS: _ultralytics,
    Hub.FAST_PLATE_OCR: _fast_plate_ocr,
    Hub.OPEN_IMAGE_MODELS: _open_image_models,
}

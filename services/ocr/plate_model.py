"""The ONNX plate OCR model (fast-plate-ocr's layout): plate images in, per-slot probabilities out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from anpr.models import ModelMissing, fetch
from services.ocr.engine import EngineUnavailable
from services.ocr.settings import reader_need

log = logging.getLogger("ocr")

_INTERPOLATION = {
    "nearest": cv2.INTER_NEAREST,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos4": cv2.INTER_LANCZOS4,
}


@dataclass(frozen=True)
class PlateModelConfig:
    alphabet: str
    pad: str
    slots: int
    height: int
    width: int
    rgb: bool
    keep_aspect_ratio: bool
    interpolation: int
    regions: tuple[str, ...]  # the names of the region head's classes (fast-plate-ocr v2); () without one

    @classmethod
    def load(cls, path: Path) -> PlateModelConfig:
        try:
            raw = yaml.safe_load(path.read_text())
            return cls(
                alphabet=str(raw["alphabet"]),
                pad=str(raw["pad_char"]),
                slots=int(raw["max_plate_slots"]),
                height=int(raw["img_height"]),
                width=int(raw["img_width"]),
                rgb=str(raw.get("image_color_mode", "rgb")).lower() == "rgb",
                keep_aspect_ratio=bool(raw.get("keep_aspect_ratio", False)),
                interpolation=_INTERPOLATION[str(raw.get("interpolation", "linear")).lower()],
                regions=tuple(str(r) for r in raw.get("plate_regions") or ()),
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise EngineUnavailable(
                f"plate OCR config {path} is not a fast-plate-ocr plate config: {exc}"
            ) from exc


class PlateOcrModel:
    def __init__(
        self, model: str, config: Path | None = None, threads: int = 0, setting: str = "OCR_READER_MODEL"
    ) -> None:
        model_path, config_path = resolve_model(model, config, setting)
        self.config = PlateModelConfig.load(config_path)
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise EngineUnavailable(f"plate OCR model {model_path} could not be loaded: {exc}") from exc
        self._input = self._session.get_inputs()[0].name
        names = [o.name for o in self._session.get_outputs()]
        self._output_names = [names[0]] + (
            ["region"] if "region" in names[1:] and self.config.regions else []
        )
        self.model_path = model_path

    def probabilities(self, plates: list[np.ndarray], slots: int = 0) -> np.ndarray:
        """[N, slots, len(alphabet)] for N BGR plate images; with `slots` more than the model's, the
        extra slots are padding (a 9-slot model read beside a 10-slot one)."""
        return self.outputs(plates, slots)[0]

    def outputs(self, plates: list[np.ndarray], slots: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
        """The slot probabilities as above, and the region head's scores [N, len(config.regions)] where the
        model has one (None otherwise)."""
        batch = np.stack([self._prepare(p) for p in plates])
        outs = self._session.run(self._output_names, {self._input: batch})
        out, regions = outs[0], (outs[1] if len(outs) > 1 else None)
        c = self.config
        probs = out.reshape(len(plates), c.slots, len(c.alphabet))
        if slots > c.slots:
            pad = np.zeros((len(plates), slots - c.slots, len(c.alphabet)), probs.dtype)
            pad[..., c.alphabet.index(c.pad)] = 1.0
            probs = np.concatenate([probs, pad], axis=1)
        return probs, regions

    def _prepare(self, plate: np.ndarray) -> np.ndarray:
        c = self.config
        if c.keep_aspect_ratio:
            scale = min(c.width / plate.shape[1], c.height / plate.shape[0])
            w, h = max(1, round(plate.shape[1] * scale)), max(1, round(plate.shape[0] * scale))
            small = cv2.resize(plate, (w, h), interpolation=c.interpolation)
            image = np.zeros((c.height, c.width, 3), np.uint8)
            image[:h, :w] = small
        else:
            image = cv2.resize(plate, (c.width, c.height), interpolation=c.interpolation)
        if c.rgb:
            return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[..., None]


def resolve_model(model: str, config: Path | None, setting: str = "OCR_READER_MODEL") -> tuple[Path, Path]:
    """Local model (+ its config), or a fast-plate-ocr model name: that library's cached copy, fetched on
    first use (anpr.models)."""
    try:
        path = fetch(reader_need(model, setting))
    except ModelMissing as exc:
        raise EngineUnavailable(str(exc)) from exc
    if not path.is_file():
        raise EngineUnavailable(f"{setting}={model}: {path} is not a file")
    return path, config or _config_next_to(path)


def _config_next_to(model: Path) -> Path:
    for name in (f"{model.stem}_plate_config.yaml", "default_latin_plate_config.yaml"):
        candidate = model.with_name(name)
        if candidate.is_file():
            return candidate
    raise EngineUnavailable(
        f"no plate config next to {model} ({model.stem}_plate_config.yaml or default_latin_plate_config.yaml); "
        "set OCR_READER_CONFIG to the model's plate config YAML"
    )

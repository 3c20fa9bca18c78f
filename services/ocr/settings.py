"""OCR settings, `OCR_*`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from anpr.models import Hub, ModelNeed, looks_local
from anpr.plates import parse_formats
from anpr.settings import ServiceSettings, settings_config
from services.ocr.views import VIEWS

Engine = Literal["onnx", "openalpr"]
Localiser = Literal["cascade", "yolo", "open-image-models"]

DEFAULT_READER_MODEL = "cct-xs-v1-global-model"  # fast-plate-ocr's name; fetched on first use with internet
DEFAULT_OIM_MODEL = "yolo-v9-t-384-license-plate-end2end"  # open-image-models' plate detector


class OcrSettings(ServiceSettings):
    model_config = settings_config("OCR_")

    engine: Engine = "onnx"
    plate_formats: str = Field(
        default="AAA-0000", description="comma-separated formats (A letter, 0 digit, * either); '' for none"
    )
    top_n: int = Field(default=5, ge=1, le=20, description="candidates kept per read")
    min_confidence: float = Field(default=0.3, ge=0.0, le=1.0, description="reads below this are dropped")
    confident_read: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        description="a track is read on every frame until it has a read at or above this; then only when its "
        "vehicle box grew by OCR_REREAD_GROWTH (memory.py)",
    )
    reread_growth: float = Field(
        default=0.15,
        ge=0.0,
        le=10.0,
        description="a track with a confident read is read again when its vehicle box area has grown by this "
        "fraction over the box of its last confident read (the car came closer: a sharper plate)",
    )
    track_confident_reads: int = Field(
        default=8,
        ge=1,
        le=100,
        description="confident reads per track at most; 1: a confident read ends the track's reads",
    )
    format_min_ratio: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="a format-fitting read replaces the plain read when at least this fraction as probable",
    )
    plate_patterns: Path | None = Field(
        default=None,
        description="onnx: an OpenALPR patterns file (e.g. runtime_data/postprocess/us.patterns); its "
        "patterns count as plate formats too",
    )
    plate_pattern_regions: str = Field(
        default="", description="comma list of the patterns file's regions to use (e.g. 'tx,ok'); '' for all"
    )
    char_prior: str = Field(
        default="I:0.1,O:0.1,Q:0.1",
        description="onnx: fixed per-character weights applied before decoding (SYMBOL:WEIGHT, comma list); "
        "most US states leave I, O, Q out of serials. '' for none (EU plates use them)",
    )
    views: int = Field(
        default=9,
        ge=1,
        le=len(VIEWS),
        description="onnx: read each plate from this many slightly rotated/scaled/shifted views and average "
        "them (services/ocr/views.py); 1 reads the plate once",
    )
    # onnx engine: where the plate is inside the vehicle crop
    localiser: Localiser = Field(
        default="open-image-models",
        description="default: from OCR_LOCALISER_MODEL (.xml: cascade, another file: yolo), open-image-models "
        "when that is unset",
    )
    localiser_model: str | None = Field(
        default=None,
        description="cascade: path to an OpenCV cascade XML (e.g. OpenALPR's runtime_data/region/us.xml); "
        f"yolo: path to a YOLO plate model; open-image-models: model name (default {DEFAULT_OIM_MODEL}, "
        "fetched on first use)",
    )
    cascade_max_width: int = Field(
        default=1920,
        ge=0,
        description="cascade: search a copy at most this wide (faster; 0: full size, which on a huge crop "
        "costs seconds and gigabytes)",
    )
    max_crop_pixels: int = Field(
        default=7680 * 4320,
        ge=1,
        description="vehicle crops whose JPEG header declares more pixels (default: 8K) are not decoded",
    )
    second_localiser_model: str | None = Field(
        default=None,
        description="onnx: a YOLO plate model (any plate layout: long EU, two-row) asked for its best plate box "
        "where the first localiser's best read is under OCR_SECOND_LOCALISER_BELOW, shorter than "
        "OCR_SECOND_LOCALISER_SHORTER, or missing; its read wins when it is longer and holds the first box, "
        "or more confident than a first read under 0.5",
    )
    second_localiser_below: float = Field(
        default=0.9, ge=0.0, le=1.0, description="onnx: confidence under which the second localiser is asked"
    )
    second_localiser_shorter: int = Field(
        default=7,
        ge=0,
        le=16,
        description="onnx: the second localiser is also asked where the first one's best read has fewer "
        "characters than this (the US cascade reads a part of a long plate: RK291 of RK291AT)",
    )
    second_localiser_size: int = Field(
        default=320, ge=32, le=1280, description="onnx: input size of the second localiser (pixels, square)"
    )
    localiser_confidence: float = Field(default=0.3, ge=0.0, le=1.0, description="yolo / open-image-models")
    max_plates: int = Field(
        default=2,
        ge=1,
        le=10,
        description="plate boxes of the first localiser read per vehicle, most likely first (2 and 3 gave the "
        "same reads on every still set)",
    )
    # onnx engine: the plate text model
    reader_model: str = Field(
        default=DEFAULT_READER_MODEL,
        description="local .onnx plate OCR model, or a fast-plate-ocr model name (needs fast-plate-ocr + internet)",
    )
    second_reader_model: str | None = Field(
        default=None,
        description="onnx: a second plate OCR model (e.g. fast-plate-ocr's cct_xs_v2_global.onnx, its config "
        "beside it) with the same alphabet; where the first reader's read is under OCR_SECOND_READER_BELOW, "
        "both read every view of the plate and their slot probabilities are averaged",
    )
    second_reader_below: float = Field(
        default=0.99,
        ge=0.0,
        le=1.0,
        description="onnx: the second reader reads only the plates the first one reads under this confidence "
        "(1: every plate)",
    )
    format_regions: str = Field(
        default="United States",
        description="onnx: comma list of the regions (as the second reader's region head names them, e.g. "
        "'United States', 'Brazil') whose plates the formats, patterns and character prior are for; a plate "
        "that head places in another region is read as the readers read it. Needs a second reader with a "
        "region output (fast-plate-ocr v2); '' applies them to every plate",
    )
    reader_config: Path | None = Field(
        default=None,
        description="its plate config YAML; default: *_plate_config.yaml or "
        "default_latin_plate_config.yaml next to a local model",
    )
    threads: int = Field(default=0, ge=0, le=64, description="ONNX Runtime threads; 0: its default")
    # openalpr engine
    openalpr_country: str = "us"
    openalpr_region: str = "tx"
    openalpr_config: Path | None = Field(default=None, description="openalpr.conf; default: the library's")
    openalpr_runtime_data: Path | None = Field(
        default=None, description="runtime_data folder; default: the library's"
    )
    # per-track memory
    track_free_misses: int = Field(
        default=3,
        ge=0,
        le=1000,
        description="looks in a row that find no plate before a track's looks are spaced out (memory.py)",
    )
    track_miss_wait_s: float = Field(
        default=0.2,
        ge=0.0,
        le=60.0,
        description="capture time between looks after the free misses, doubling with each further miss; "
        "0: every frame",
    )
    track_miss_wait_max_s: float = Field(
        default=1.0, ge=0.0, le=60.0, description="the longest wait between a plateless track's looks"
    )
    track_miss_growth: float = Field(
        default=0.05,
        ge=0.0,
        le=10.0,
        description="a plateless track whose vehicle box area grew by this fraction since its last look is "
        "looked at at once (it is coming closer)",
    )
    track_seen_look_s: float = Field(
        default=0.25,
        ge=0.0,
        le=5.0,
        description="a look that finds a plate it cannot read earns looks on every frame for this long "
        "(capture time; 0.25 s: the next frame at 5 frames/s, the next four at 18)",
    )
    track_memory: int = Field(default=2048, ge=16, description="tracks remembered, across cameras")
    track_forget_s: float = Field(
        default=1.5,
        gt=0,
        description="a track unseen this long (capture time) is read again: ByteTrack gives a lost track's id "
        "to the next vehicle at the same place (the next car at a barrier), which must not go unread",
    )
    snapshot_width: int = Field(default=320, ge=32, le=1280, description="snapshot JPEG width at most")

    @model_validator(mode="before")
    @classmethod
    def _localiser_from_model(cls, data: Any) -> Any:
        # OCR_LOCALISER_MODEL=us.xml alone means the cascade; a plate model file alone means YOLO.
        if isinstance(data, dict) and not data.get("localiser") and data.get("localiser_model"):
            model = str(data["localiser_model"])
            if model.lower().endswith(".xml"):
                data = {**data, "localiser": "cascade"}
            elif looks_local(model):
                data = {**data, "localiser": "yolo"}
        return data

    def model_needs(self) -> list[ModelNeed]:
        """The models this engine loads at start-up (anpr.models resolves them all at once)."""
        if self.engine != "onnx":
            return []
        needs = [reader_need(self.reader_model)]
        if self.second_localiser_model:
            needs.append(
                ModelNeed(
                    "second plate localiser",
                    "OCR_SECOND_LOCALISER_MODEL",
                    self.second_localiser_model,
                    None,
                    "a YOLO plate model file",
                )
            )
        if self.second_reader_model:
            needs.append(reader_need(self.second_reader_model, "OCR_SECOND_READER_MODEL"))
        hint = "an OpenCV plate cascade XML (OCR_LOCALISER=cascade) or a YOLO plate model file"
        if self.localiser == "open-image-models":
            name = self.localiser_model or DEFAULT_OIM_MODEL
            needs.append(
                ModelNeed("plate localiser", "OCR_LOCALISER_MODEL", name, Hub.OPEN_IMAGE_MODELS, hint)
            )
        else:
            needs.append(
                ModelNeed("plate localiser", "OCR_LOCALISER_MODEL", self.localiser_model or "", None, hint)
            )
        return needs

    @field_validator("plate_formats")
    @classmethod
    def _valid_formats(cls, value: str) -> str:
        parse_formats(value)  # raises with the offending spec
        return value

    @field_validator("char_prior")
    @classmethod
    def _valid_prior(cls, value: str) -> str:
        from services.ocr.decode import parse_prior

        parse_prior(value)
        return value


def reader_need(model: str, setting: str = "OCR_READER_MODEL") -> ModelNeed:
    hub = None if model.endswith(".onnx") or looks_local(model) else Hub.FAST_PLATE_OCR
    hint = "a local fast-plate-ocr .onnx model (its *_plate_config.yaml beside it, or OCR_READER_CONFIG)"
    return ModelNeed("plate reader", setting, model, hub, hint)

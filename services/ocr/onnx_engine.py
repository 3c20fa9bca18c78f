"""The engine that runs on any CPU: localise the plate in the vehicle crop, read it with the ONNX model."""

from __future__ import annotations

import cv2
import numpy as np

from anpr.messages import Box
from anpr.plates import parse_formats
from services.ocr.decode import Decoded, Format, SlotDecoder, parse_prior
from services.ocr.engine import EngineUnavailable, PlateResult
from services.ocr.localise import Localiser, build_localiser, build_second_localiser
from services.ocr.patterns import load_patterns
from services.ocr.plate_model import PlateOcrModel
from services.ocr.settings import OcrSettings
from services.ocr.views import mean_of_views, views_of

# The model was trained on plates with a little margin. Chosen on the eu + br benchmark sets' labelled
# boxes (exact reads of 143, no format rules: 0% 131, 5% 131, 10% 132, 15% 130, 20% 128), not on the US sets we report.
PLATE_MARGIN = 0.10
# The second localiser's read replaces a complete-looking first read only when that one is under this
# confidence and the second is more confident. Chosen on all still sets together (us, ucsd, crops, eu, br:
# 0.5 against 0.9 = OCR_SECOND_LOCALISER_BELOW, the same except ucsd 132 against 131); docs/accuracy.md.
SECOND_WINS_BELOW = 0.5
# A longer read of the whole plate replaces the first read only when at least this confident (the default
# OCR_MIN_CONFIDENCE): a 0.02 read of a wide box must not replace a good cascade read (us: TNP222).
WHOLE_AT_LEAST = 0.3


class OnnxEngine:
    name = "onnx"

    def __init__(self, settings: OcrSettings, localiser: Localiser | None = None) -> None:
        self.model = PlateOcrModel(settings.reader_model, settings.reader_config, settings.threads)
        self.second: PlateOcrModel | None = None  # the reader beside it (OCR_SECOND_READER_MODEL)
        if settings.second_reader_model:
            second = PlateOcrModel(
                settings.second_reader_model, None, settings.threads, "OCR_SECOND_READER_MODEL"
            )
            if (second.config.alphabet, second.config.pad) != (
                self.model.config.alphabet,
                self.model.config.pad,
            ):
                raise EngineUnavailable(
                    f"OCR_SECOND_READER_MODEL={settings.second_reader_model}: its alphabet differs from "
                    "OCR_READER_MODEL's; the two readers' slot probabilities cannot be averaged"
                )
            self.second = second
        self.slots = max(self.model.config.slots, self.second.config.slots if self.second else 0)
        self.localiser = localiser or build_localiser(settings)
        self.second_localiser = build_second_localiser(settings)
        self.second_below = settings.second_localiser_below
        self.second_shorter = settings.second_localiser_shorter
        cfg = self.model.config
        self.decoder = SlotDecoder(
            cfg.alphabet,
            cfg.pad,
            formats_of(settings),
            min_ratio=settings.format_min_ratio,
            top_n=settings.top_n,
            prior=parse_prior(settings.char_prior),
        )
        # for a plate the region head places abroad: formats and prior are the site's
        self.plain = SlotDecoder(
            cfg.alphabet, cfg.pad, (), min_ratio=settings.format_min_ratio, top_n=settings.top_n
        )
        self.home = _home_regions(settings.format_regions, self.second)
        self.max_plates = settings.max_plates
        self.second_reader_below = settings.second_reader_below
        self.views = settings.views

    def read(self, crop: np.ndarray) -> PlateResult | None:
        boxes = self._boxes(crop, self.localiser, self.max_plates)
        best = self.read_regions(crop, boxes) if boxes else None
        if self.second_localiser is not None and self._doubtful(best):
            # a long or two-row plate the US cascade cut short, or no plate found: the YOLO model's best box
            others = self._boxes(crop, self.second_localiser, 1)
            best = _better(best, self.read_regions(crop, others) if others else None)
            boxes = boxes or others
        if best is None and boxes:  # a plate found that no reader could read (yet): see PlateEngine.read
            return PlateResult(boxes[0], "", "", 0.0, ())
        return best

    def _doubtful(self, best: PlateResult | None) -> bool:
        """A read that may be part of a longer plate: short, not confident, or none at all."""
        return best is None or len(best.text) < self.second_shorter or best.confidence < self.second_below

    def _boxes(self, crop: np.ndarray, localiser: Localiser, limit: int) -> list[Box]:
        return [_with_margin(b, crop) for b in localiser.locate(crop)[:limit]]

    def read_regions(self, image: np.ndarray, boxes: list[Box]) -> PlateResult | None:
        """Read each box of `image` as a plate and keep the most confident read."""
        boxes = [b for b in boxes if b.w > 1 and b.h > 1]
        if not boxes:
            return None
        plates = [image[b.y : b.y + b.h, b.x : b.x + b.w] for b in boxes]
        views = [views_of(p, self.views) for p in plates]
        first = self._probabilities(self.model, views)
        reads = list(zip(boxes, self._second_reads(views, first), strict=True))
        box, best = max(reads, key=lambda r: r[1].confidence)
        if not best.text:
            return None
        return PlateResult(box, best.raw, best.text, best.confidence, best.candidates)

    def _second_reads(self, views: list[list[np.ndarray]], first: np.ndarray) -> list[Decoded]:
        """Each plate decoded from the first reader's probabilities; the plates it is not sure of read by
        the second reader too, the two means averaged. (Sharing the views out between the readers costs
        less but lost short US plates under the confidence floor: docs/accuracy.md.) Where the site's
        formats or prior changed a read, or the second reader reads the plate anyway, its region head says
        whether they apply: a plate from abroad is decoded without them."""
        out = [self.decoder.decode(p) for p in first]
        doubtful = {i for i, d in enumerate(out) if d.confidence < self.second_reader_below}
        bent = set()  # confident reads the site's formats or prior changed: where is the plate from?
        if self.home is not None:
            bent = {
                i
                for i, d in enumerate(out)
                if i not in doubtful and d.text != self.plain.plain_text(first[i])
            }
        asked = sorted(doubtful | bent)
        if self.second is None or not asked:
            return out
        second, regions = self._outputs(self.second, [views[i] for i in asked])
        for j, i in enumerate(asked):
            abroad = (
                self.home is not None and regions is not None and int(regions[j].argmax()) not in self.home
            )
            probs = (first[i] + second[j]) / 2 if i in doubtful else first[i]
            out[i] = (self.plain if abroad else self.decoder).decode(probs)
        return out

    def _probabilities(self, reader: PlateOcrModel, views: list[list[np.ndarray]]) -> np.ndarray:
        return self._outputs(reader, views)[0]

    def _outputs(
        self, reader: PlateOcrModel, views: list[list[np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """[plates, slots, symbols]: the reader's mean over each plate's views; and its region scores'
        mean [plates, regions] where it has a region head."""
        flat = [x for v in views for x in v]
        probs, regions = reader.outputs(flat, self.slots)
        n = len(views[0])
        return mean_of_views(probs, n), None if regions is None else mean_of_views(regions, n)

    def read_plate(self, plate: np.ndarray) -> PlateResult | None:
        """Read an image that is already a tight plate crop: OCR alone, no localiser. The crop is padded
        by the same margin the localiser's boxes get (edge pixels repeated), as the model expects."""
        h, w = plate.shape[:2]
        dy, dx = round(h * PLATE_MARGIN), round(w * PLATE_MARGIN)
        padded = cv2.copyMakeBorder(plate, dy, dy, dx, dx, cv2.BORDER_REPLICATE)
        return self.read_regions(padded, [Box(x=0, y=0, w=padded.shape[1], h=padded.shape[0])])


def formats_of(settings: OcrSettings) -> tuple[Format, ...]:
    formats: tuple[Format, ...] = parse_formats(settings.plate_formats)
    if settings.plate_patterns is not None:
        try:
            formats += load_patterns(settings.plate_patterns, settings.plate_pattern_regions.split(","))
        except ValueError as exc:
            raise EngineUnavailable(f"OCR_PLATE_PATTERNS: {exc}") from exc
    return formats


def _home_regions(spec: str, reader: PlateOcrModel | None) -> frozenset[int] | None:
    """The region head's classes whose plates the formats are for ('Unknown' always among them), or None
    where every plate gets them: no setting, or no second reader with a region head."""
    wanted = [r.strip() for r in spec.split(",") if r.strip()]
    if not wanted or reader is None or not reader.config.regions:
        return None
    names = reader.config.regions
    unknown = [r for r in wanted if r not in names]
    if unknown:
        raise EngineUnavailable(
            f"OCR_FORMAT_REGIONS: {', '.join(unknown)} not among the regions of {reader.model_path.name} "
            f"({', '.join(names)})"
        )
    return frozenset(names.index(r) for r in [*wanted, "Unknown"] if r in names)


def _with_margin(box: Box, image: np.ndarray) -> Box:
    h, w = image.shape[:2]
    dx, dy = round(box.w * PLATE_MARGIN), round(box.h * PLATE_MARGIN)
    x1, y1 = max(0, box.x - dx), max(0, box.y - dy)
    x2, y2 = min(w, box.x + box.w + dx), min(h, box.y + box.h + dy)
    return Box(x=x1, y=y1, w=max(1, x2 - x1), h=max(1, y2 - y1))


def _better(best: PlateResult | None, other: PlateResult | None) -> PlateResult | None:
    """The first localiser's read or the second's, whichever is the plate."""
    if other is None:
        return best
    if best is None or (_whole_of(other, best) and other.confidence >= WHOLE_AT_LEAST):
        return other
    return other if best.confidence < SECOND_WINS_BELOW and other.confidence > best.confidence else best


def _whole_of(other: PlateResult, part: PlateResult) -> bool:
    """`other` reads more characters in a box that holds most of `part`'s box: the whole plate of
    which the first localiser saw a part (the US cascade's 2:1 box on a long EU plate)."""
    a, b = other.box, part.box
    if a is None or b is None or len(other.text) <= len(part.text):
        return False
    ix = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    return ix * iy > 0.5 * b.w * b.h

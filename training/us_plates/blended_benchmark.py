"""The product's crop benchmark (services.ocr.benchmark: CropRunner, Score) with the main model's per-slot
probabilities blended with a second reader's. Nothing in services/ changes: the runner's engine gets a model
wrapper. With --folds K, crop X is read with MODELS/fold{k}.onnx where k = fold_of(X) (out of fold: that model
never saw X); without, every crop is read with MODELS (one .onnx file)."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from services.ocr.benchmark import CropRunner, Score, load_crops, write_misses
from training.us_plates.second_reader import SecondReader, blend
from training.us_plates.train import fold_of


class BlendedModel:
    """Looks like PlateOcrModel to OnnxEngine; its probabilities are the blend of two readers."""

    def __init__(self, main, second: SecondReader, main_weight: float) -> None:  # noqa: ANN001
        self.main, self.second, self.main_weight = main, second, main_weight
        self.config = main.config

    def probabilities(self, plates: list[np.ndarray]) -> np.ndarray:
        return blend(self.main.probabilities(plates), self.second.probabilities(plates), self.main_weight)


def runner_with(model: Path, main_weight: float) -> CropRunner:
    runner = CropRunner()  # the engine from OCR_* exactly as the benchmark builds it
    cfg = runner.engine.model.config
    second = SecondReader(model, cfg.slots, len(cfg.alphabet))
    runner.engine.model = BlendedModel(runner.engine.model, second, main_weight)
    return runner


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("crops", type=Path)
    ap.add_argument("models", type=Path, help="a .onnx, or with --folds a folder of fold{k}.onnx")
    ap.add_argument("--folds", type=int, default=0)
    ap.add_argument("--main-weight", type=float, default=0.5)
    ap.add_argument("--misses", type=Path)
    a = ap.parse_args()
    samples = load_crops(a.crops)
    score = Score()
    if a.folds:
        runners = [runner_with(a.models / f"fold{k}.onnx", a.main_weight) for k in range(a.folds)]
        for i, s in enumerate(samples):
            score.add(s, runners[fold_of(s.image.name, a.folds)](s, i))
    else:
        runner = runner_with(a.models, a.main_weight)
        for i, s in enumerate(samples):
            score.add(s, runner(s, i))
    if a.misses:
        write_misses(a.misses, score)
    kind = f"out of fold, {a.folds} folds" if a.folds else a.models.name
    print(
        f"{a.crops} (crops, OCR alone, blended with {kind}, main weight {a.main_weight}): {score.total} images"
    )
    print("\n".join(score.lines(True)))


if __name__ == "__main__":
    main()

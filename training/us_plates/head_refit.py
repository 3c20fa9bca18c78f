"""Refit fast-plate-ocr's last layer (the per-slot vocabulary projection, token features -> 37 symbols) on US
crops, out of fold, starting from and pulled towards the shipped weights. Measured through the product's crop
benchmark (CropRunner/Score) with the engine's model wrapped: features from the unchanged ONNX graph, the
fold's refitted head, softmax, then the product's decoder."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

from services.ocr.benchmark import CropRunner, Score, load_crops
from training.us_plates.data import pad_crop, photo_boxes
from training.us_plates.train import fold_of

FEATURE = "CCT_OCR_1/token_reducer_1/multi_head_attention_4_1/attention_output_1/add:0"
WEIGHT = "CCT_OCR_1/vocab_projection_1/dense_9_1/Cast/ReadVariableOp:0"
BIAS = "CCT_OCR_1/vocab_projection_1/dense_9_1/BiasAdd/ReadVariableOp:0"


class FeatureModel:
    """The main ONNX model with its per-slot token features exposed, plus its own head weights."""

    def __init__(self, path: Path, prepare) -> None:  # noqa: ANN001
        m = onnx.load(str(path))
        init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
        self.w0, self.b0 = init[WEIGHT].astype(np.float32), init[BIAS].astype(np.float32)
        m.graph.output.append(onnx.helper.make_tensor_value_info(FEATURE, onnx.TensorProto.FLOAT, None))
        self.session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        self.prepare = prepare

    def features(self, plates: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        batch = np.stack([self.prepare(p) for p in plates])
        probs, feats = self.session.run(None, {self.session.get_inputs()[0].name: batch})
        return feats.reshape(len(plates), 9, -1), probs.reshape(len(plates), 9, -1)


class HeadModel:
    """Looks like PlateOcrModel to OnnxEngine: features -> refitted head -> softmax."""

    def __init__(self, fm: FeatureModel, w: np.ndarray, b: np.ndarray, config) -> None:  # noqa: ANN001
        self.fm, self.w, self.b, self.config = fm, w, b, config

    def probabilities(self, plates: list[np.ndarray]) -> np.ndarray:
        logits = self.fm.features(plates)[0] @ self.w + self.b
        e = np.exp(logits - logits.max(-1, keepdims=True))
        return e / e.sum(-1, keepdims=True)


def augment(img: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-3, 3), rng.uniform(0.92, 1.08))
    m[0, 2] += rng.uniform(-0.04, 0.04) * w
    m[1, 2] += rng.uniform(-0.06, 0.06) * h
    out = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (3, 3), rng.uniform(0.3, 1.2))
    return np.clip(out.astype(np.float32) * rng.uniform(0.7, 1.3) + rng.uniform(-30, 30), 0, 255).astype(
        np.uint8
    )


def encode(text: str, alphabet: str) -> np.ndarray:
    return np.array([alphabet.index(c) for c in text[:9].ljust(9, "_")])


def fit_head(x: np.ndarray, y: np.ndarray, w0: np.ndarray, b0: np.ndarray, pull: float, steps: int) -> tuple:
    xt, yt = torch.from_numpy(x.reshape(-1, x.shape[-1])), torch.from_numpy(y.reshape(-1))
    w, b = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
    w0t, b0t = torch.tensor(w0), torch.tensor(b0)
    opt = torch.optim.Adam([w, b], lr=1e-3)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(xt @ w + b, yt)
        loss = loss + pull * (((w - w0t) ** 2).sum() + ((b - b0t) ** 2).sum())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach().numpy(), b.detach().numpy()


CHOICES = [(0.0, 0), (1e-1, 300), (1e-2, 300), (1e-3, 300)]  # (0, 0): the shipped head unchanged


def select(train, feats, ys, samples, fx, fy, fm, decoder) -> tuple[float, int]:  # noqa: ANN001
    """Inner CV on the outer fold's training crops: exact reads of the held-in crops' plain images."""
    inner = {i: n % 4 for n, i in enumerate(train)}
    best, best_right = CHOICES[0], -1
    for pull, steps in CHOICES:
        right = 0
        for j in range(4):
            fit = [i for i in train if inner[i] != j]
            x = np.concatenate([np.concatenate([feats[i] for i in fit]), fx]).astype(np.float32)
            y = np.concatenate([np.concatenate([ys[i] for i in fit]), fy])
            w, b = fit_head(x, y, fm.w0, fm.b0, pull, steps)
            for i in (i for i in train if inner[i] == j):
                logits = feats[i][0] @ w + b
                e = np.exp(logits - logits.max(-1, keepdims=True))
                right += decoder.decode(e / e.sum(-1, keepdims=True)).text == samples[i].plate
        if right > best_right:  # ties keep the earlier choice: the shipped head first
            best, best_right = (pull, steps), right
    return best


def export(source: Path, w: np.ndarray, b: np.ndarray, out: Path) -> None:
    """The main ONNX model, byte for byte the same graph, with the head's two initializers replaced."""
    m = onnx.load(str(source))
    for init in m.graph.initializer:
        if init.name in (WEIGHT, BIAS):
            value = w if init.name == WEIGHT else b
            init.CopyFrom(numpy_helper.from_array(value.astype(numpy_helper.to_array(init).dtype), init.name))
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(m, str(out))
    print(f"wrote {out}")


def run_photos(a, samples, feats, ys, folds_a, fx, fy, fm, runner, main_model) -> None:  # noqa: ANN001
    from services.ocr.benchmark import PhotoRunner, load_photos, run

    train = [i for i in range(len(samples)) if folds_a[i] != -1]
    pull, steps = (a.pull, a.steps)
    if a.select:
        pull, steps = select(train, feats, ys, samples, fx, fy, fm, runner.engine.decoder)
    x = np.concatenate([np.concatenate([feats[i] for i in train]), fx]).astype(np.float32)
    y = np.concatenate([np.concatenate([ys[i] for i in train]), fy])
    w, b = fit_head(x, y, fm.w0, fm.b0, pull, steps)
    if a.export:
        export(main_model.model_path, w, b, a.export)
    photo_runner = PhotoRunner()
    photo_runner.reader.engine.model = HeadModel(fm, w, b, main_model.config)
    score = run(load_photos(a.photos), photo_runner)
    print(f"{a.photos} (photos, head refitted on {len(train)} US crops, pull {pull}, {steps} steps)")
    print("\n".join(score.lines(False)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("crops", type=Path)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--augment", type=int, default=4, help="augmented copies per training crop")
    ap.add_argument("--pull", type=float, default=1e-3, help="L2 pull towards the shipped head")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument(
        "--photos",
        type=Path,
        help="instead: fit on all crops (minus --exclude-plates-of) and run these photos through the product path",
    )
    ap.add_argument(
        "--export", type=Path, help="with --photos: write the main model with the refitted head here"
    )
    ap.add_argument("--exclude-plates-of", type=Path)
    ap.add_argument(
        "--select",
        action="store_true",
        help="pick pull/steps per outer fold by inner 4-fold CV on that fold's training crops only, among "
        "CHOICES (which include leaving the shipped head as it is)",
    )
    a = ap.parse_args()
    rng = random.Random(0)
    runner = CropRunner()
    main_model = runner.engine.model
    alphabet = main_model.config.alphabet
    fm = FeatureModel(main_model.model_path, main_model._prepare)
    samples = load_crops(a.crops)
    banned = set()
    if a.exclude_plates_of:
        banned = {t.read_text().strip().split("\t")[-1].upper() for t in a.exclude_plates_of.glob("*.txt")}
    images = [pad_crop(cv2.imread(str(s.image))) for s in samples]
    feats, ys, folds = [], [], []
    for s, img in zip(samples, images, strict=True):
        f, _ = fm.features([img] + [augment(img, rng) for _ in range(a.augment)])
        feats.append(f)
        ys.append(np.stack([encode(s.plate, alphabet)] * len(f)))
        folds.append(-1 if s.plate in banned else fold_of(s.image.name, a.folds))
    d = Path("/work/shared/data/openalpr_benchmarks")
    extra = [(c, t) for sub in ("eu", "br") for _, c, t in photo_boxes(d / sub)]
    fx, _ = fm.features([c for c, _ in extra])
    fy = np.stack([encode(t, alphabet) for _, t in extra])
    folds_a = np.array(folds)
    if a.photos:
        run_photos(a, samples, feats, ys, folds_a, fx, fy, fm, runner, main_model)
        return
    score = Score()
    for k in range(a.folds):
        train = [i for i in range(len(samples)) if folds_a[i] not in (k, -1)]
        x = np.concatenate([np.concatenate([feats[i] for i in train]), fx])
        y = np.concatenate([np.concatenate([ys[i] for i in train]), fy])
        pull, steps = (a.pull, a.steps)
        if a.select:
            pull, steps = select(train, feats, ys, samples, fx, fy, fm, runner.engine.decoder)
            print(f"fold {k}: inner CV chose pull {pull} steps {steps}", flush=True)
        w, b = fit_head(x.astype(np.float32), y, fm.w0, fm.b0, pull, steps)
        runner.engine.model = HeadModel(fm, w, b, main_model.config)
        for i, s in enumerate(samples):
            if folds_a[i] == k or (folds_a[i] == -1 and fold_of(s.image.name, a.folds) == k):
                score.add(s, runner(s, i))
        print(f"fold {k}: {score.exact}/{score.total} so far", flush=True)
    how = "pull/steps by inner CV" if a.select else f"pull {a.pull}, {a.steps} steps"
    print(f"{a.crops} (crops, refitted head, out of fold, {a.folds} folds, {how}): {score.total} images")
    print("\n".join(score.lines(True)))


if __name__ == "__main__":
    main()

"""Fine-tune every weight of fast-plate-ocr's ONNX reader on real plates, and measure it honestly.

The shipped ONNX graph is turned into a torch module (onnx2torch), trained from the shipped weights with an L2
pull towards them, and written back into the *same* graph by replacing initializer values; the product reads
the result as it reads the original (`OCR_READER_MODEL`).

Honesty: with `CROPS` alone each US crop is read by a model that never saw its plate (K folds by plate text, so
a plate photographed twice never sits on both sides). Inside each fold a fifth of the training plates is held
back to pick how many epochs to keep (0 = the shipped model), so nothing is chosen on the crops being scored.
With `--photos` the model is trained on all crops (minus those whose plate is also a photo label) and the photo
set, never seen, is run through the product path. The recipe below was fixed before the first measurement.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
import yaml
from onnx import numpy_helper

from services.ocr.benchmark import CropRunner, Score, load_crops
from services.ocr.plate_model import _INTERPOLATION, PlateOcrModel
from services.ocr.views import mean_of_views, views_of
from training.us_plates.data import encode, photo_boxes, us_crops
from training.us_plates.head_refit import augment
from training.us_plates.scenes import Scene, composite, load_scenes

# The recipe, fixed up front (not varied against any reported set).
EPOCHS, EVERY = 20, 4  # checkpoints at epochs 0, 4, ..., 20; the inner hold-out picks one
BATCH, LR, PULL = 32, 3e-4, 1e-2
PLAIN_SHARE = 0.2  # share of a batch shown without augmentation
LOOK_SHARE = 0.5  # share of the tight crops given a photo's look (--look surround / scene)
EXTRA_SETS = ("eu", "br")  # labelled boxes of these benchmark sets join every training set


@dataclass(frozen=True)
class Plate:
    name: str
    image: np.ndarray  # BGR, with the product's margin
    text: str
    tight: bool = True  # a plate crop with repeated edges (US crops), not a box cut out of a photo
    raw: np.ndarray | None = None  # tight crops: the crop before padding


def surround(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """A tight crop's repeated edges teach nothing about what lies around a plate in a photo (frames, stickers,
    bumper), which the product's localiser boxes include; give the crop a random border of random content."""
    h, w = image.shape[:2]
    top, bottom = (round(h * rng.uniform(0, 0.25)) for _ in range(2))
    left, right = (round(w * rng.uniform(0, 0.15)) for _ in range(2))
    mode = rng.choice(("replicate", "reflect", "constant", "noise"))
    if mode == "replicate":
        return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_REPLICATE)
    if mode == "reflect":
        return cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_REFLECT)
    value = [rng.randrange(256)] * 3
    out = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value)
    if mode == "noise":
        noise = np.random.default_rng(rng.randrange(1 << 30)).integers(0, 256, out.shape, dtype=np.uint8)
        mask = np.ones(out.shape[:2], bool)
        mask[top : top + h, left : left + w] = False
        out[mask] = noise[mask]
    return out


def fold_of(text: str, folds: int, salt: str = "") -> int:
    return int(hashlib.sha256((salt + text).encode()).hexdigest(), 16) % folds


class TrainableReader:
    """The ONNX reader as a torch module, each trainable tensor tied to the initializer it came from."""

    def __init__(self, path: Path) -> None:
        import onnx2torch

        self.proto = onnx.load(str(path))
        self.net = onnx2torch.convert(self.proto)
        self.reference = PlateOcrModel(str(path))  # preprocessing and config, exactly the product's
        initializers = {i.name: numpy_helper.to_array(i) for i in self.proto.graph.initializer}
        self.tied: list[tuple[torch.Tensor, str, bool]] = []
        for name, t in chain(self.net.named_parameters(), self.net.named_buffers()):
            # Scalars are constants of the graph; the blur-pool kernels are fixed anti-aliasing filters.
            if t.dtype != torch.float32 or t.ndim == 0 or "blur" in name:
                continue
            self.tied.append((t, *_initializer_of(t.detach().numpy(), initializers, name)))
            t.requires_grad_(True)
        self.start = [t.detach().clone() for t, _, _ in self.tied]
        self.state0 = self.state()

    def params(self) -> list[torch.Tensor]:
        return [t for t, _, _ in self.tied]

    def state(self) -> list[torch.Tensor]:
        return [t.detach().clone() for t, _, _ in self.tied]

    def load(self, state: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for (t, _, _), v in zip(self.tied, state, strict=True):
                t.copy_(v)

    def probs(self, images: list[np.ndarray]) -> torch.Tensor:
        batch = torch.from_numpy(np.stack([self.reference._prepare(i) for i in images]))
        return self.net(batch).reshape(len(images), self.reference.config.slots, -1)

    def pull(self) -> torch.Tensor:
        return sum(((t - t0) ** 2).sum() for (t, _, _), t0 in zip(self.tied, self.start, strict=True))

    def export(self, out: Path) -> None:
        values = {
            name: (t.detach().numpy().T if transposed else t.detach().numpy())
            for t, name, transposed in self.tied
        }
        proto = onnx.ModelProto()
        proto.CopyFrom(self.proto)
        for init in proto.graph.initializer:
            if init.name in values:
                init.CopyFrom(numpy_helper.from_array(values[init.name].astype(np.float32), init.name))
        out.parent.mkdir(parents=True, exist_ok=True)
        onnx.save(proto, str(out))
        c = self.reference.config
        config = {
            "max_plate_slots": c.slots,
            "alphabet": c.alphabet,
            "pad_char": c.pad,
            "img_height": c.height,
            "img_width": c.width,
            "keep_aspect_ratio": c.keep_aspect_ratio,
            "interpolation": next(k for k, v in _INTERPOLATION.items() if v == c.interpolation),
            "image_color_mode": "rgb" if c.rgb else "grayscale",
        }
        out.with_name(f"{out.stem}_plate_config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _initializer_of(value: np.ndarray, initializers: dict[str, np.ndarray], name: str) -> tuple[str, bool]:
    """onnx2torch renames tensors; find the initializer by value (unique in this model, checked)."""
    hits = [
        (k, False) for k, v in initializers.items() if v.shape == value.shape and np.array_equal(v, value)
    ]
    if value.ndim == 2:
        hits += [
            (k, True)
            for k, v in initializers.items()
            if v.shape == value.T.shape and np.array_equal(v, value.T)
        ]
    if len(hits) != 1:
        raise ValueError(f"{name}: {len(hits)} initializers hold its values; cannot tie it back to the graph")
    return hits[0]


def exact_reads(model: TrainableReader, plates: list[Plate], decoder, views: int) -> int:  # noqa: ANN001
    right = 0
    with torch.no_grad():
        for i in range(0, len(plates), 16):
            chunk = plates[i : i + 16]
            p = model.probs([v for q in chunk for v in views_of(q.image, views)]).numpy()
            for q, probs in zip(chunk, mean_of_views(p, views), strict=True):
                right += decoder.decode(probs).text == q.text
    return right


def fine_tune(
    model: TrainableReader,
    train: list[Plate],
    held: list[Plate],
    decoder,  # noqa: ANN001
    views: int,
    seed: int,
    looks: Looks,
    epochs: int = EPOCHS,
    lr: float = LR,
    pull: float = PULL,
) -> int:
    """Train from the shipped weights; keep the checkpoint that reads most of `held` (ties: the earlier one),
    or with no `held` the last one."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    model.load(model.state0)
    opt = torch.optim.AdamW(model.params(), lr=lr, weight_decay=0.0)
    best_epoch, best_right, best_state = 0, exact_reads(model, held, decoder, views), model.state()
    if held:
        print(f"    epoch 0 (as shipped): held-out {best_right}/{len(held)}", flush=True)
    for epoch in range(1, epochs + 1):
        order = train[:]
        rng.shuffle(order)
        for i in range(0, len(order), BATCH):
            chunk = order[i : i + BATCH]
            images = [looks(q, rng) for q in chunk]
            target = torch.from_numpy(np.stack([encode(q.text) for q in chunk])).reshape(-1)
            logp = torch.log(
                model.probs(images).reshape(len(chunk) * model.reference.config.slots, -1).clamp_min(1e-8)
            )
            loss = torch.nn.functional.nll_loss(logp, target) + pull * model.pull()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if not held:
            best_epoch, best_state = epoch, model.state()
        elif epoch % EVERY == 0:
            right = exact_reads(model, held, decoder, views)
            print(f"    epoch {epoch}: held-out {right}/{len(held)}", flush=True)
            if right > best_right:
                best_epoch, best_right, best_state = epoch, right, model.state()
    model.load(best_state)
    return best_epoch


class Looks:
    """How a training plate is shown. v1 `plain`: as it is; v2 `surround`: LOOK_SHARE of the tight crops get a
    random border; v3 `scene`: LOOK_SHARE of them are pasted into eu/br car photos (scenes.py). Then, but for
    PLAIN_SHARE, the small affine/blur/brightness augmentation."""

    def __init__(self, look: str, scenes: list[Scene]) -> None:
        self.look, self.scenes = look, scenes

    def __call__(self, plate: Plate, rng: random.Random) -> np.ndarray:
        image = plate.image
        if plate.tight and self.look != "plain" and rng.random() < LOOK_SHARE:
            image = self.dressed(plate, rng) if self.look == "scene" else surround(plate.image, rng)
        return image if rng.random() < PLAIN_SHARE else augment(image, rng)

    def dressed(self, plate: Plate, rng: random.Random) -> np.ndarray:
        for _ in range(5):
            cut = composite(plate.raw, rng.choice(self.scenes), rng) if plate.raw is not None else None
            if cut is not None:
                return cut
        return surround(plate.image, rng)

    def held_out(self, held: list[Plate]) -> list[Plate]:
        """The held-back plates, plus with `scene` each once more in a fixed scene (the photos' look)."""
        if self.look != "scene":
            return held
        rng = random.Random(1)
        return held + [Plate(q.name, self.dressed(q, rng), q.text, tight=False) for q in held]


def training_sets(
    plates: list[Plate], extra: list[Plate], looks: Looks, extra_held: bool, hold: bool = True
) -> tuple[list[Plate], list[Plate]]:
    """(train, held): a fifth of the plates by plate hash held back (none with `hold=False`), shown as
    `looks.held_out` says; the eu/br boxes join the training set, or with `extra_held` the held-back set."""

    def held_back(q: Plate) -> bool:
        return hold and fold_of(q.text, 5, salt="held:") == 0

    train = [q for q in plates if not held_back(q)]
    held = looks.held_out([q for q in plates if held_back(q)])
    if not held:
        return train + extra, []
    return (train, held + extra) if extra_held else (train + extra, held)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("crops", type=Path, help="US crops folder with groundtruth.csv")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument(
        "--look", choices=("plain", "surround", "scene"), default="scene", help="v1, v2, v3 (Looks)"
    )
    ap.add_argument(
        "--photos", type=Path, help="train on all crops instead and run these photos (product path)"
    )
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--pull", type=float, default=PULL, help="L2 pull towards the shipped weights")
    ap.add_argument(
        "--extra-held",
        action="store_true",
        help="v4: do not train on the eu/br boxes; score them with the held-back plates instead, so that the "
        "epoch is picked on real photo boxes the model never learnt from as well",
    )
    ap.add_argument("--export", type=Path, help="with --photos: write the fine-tuned reader here")
    ap.add_argument(
        "--epochs",
        type=int,
        help="with --photos: train on all usable crops for this many epochs (e.g. the median of the epochs the "
        "out-of-fold run kept) instead of holding a fifth back to pick the epoch",
    )
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    runner = CropRunner()
    engine = runner.engine
    model = TrainableReader(engine.model.model_path)
    crops = [Plate(n, img, t, raw=cv2.imread(str(a.crops / n))) for n, img, t in us_crops(a.crops)]
    data = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "openalpr_benchmarks"
    extra = [Plate(*b, tight=False) for s in EXTRA_SETS for b in photo_boxes(data / s)]
    looks = Looks(a.look, [sc for s in EXTRA_SETS for sc in load_scenes(data / s)])
    print(
        f"{len(crops)} US crops, {len(extra)} {'+'.join(EXTRA_SETS)} boxes; recipe: {EPOCHS} epochs, batch {BATCH}, "
        f"lr {a.lr}, pull {a.pull}, look {a.look}, eu/br {'held out' if a.extra_held else 'trained on'}"
    )
    if a.photos:
        run_photos(a, model, crops, extra, engine, looks)
        return
    samples = {s.image.name: s for s in load_crops(a.crops)}
    score = Score()
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(a.folds):
            rest = [q for q in crops if fold_of(q.text, a.folds) != k]
            train, held = training_sets(rest, extra, looks, a.extra_held)
            epoch = fine_tune(
                model, train, held, engine.decoder, engine.views, seed=k, looks=looks, lr=a.lr, pull=a.pull
            )
            path = Path(tmp) / f"fold{k}.onnx"
            model.export(path)
            engine.model = PlateOcrModel(str(path))
            for i, q in enumerate(crops):
                if fold_of(q.text, a.folds) == k:
                    score.add(samples[q.name], runner(samples[q.name], i))
            print(f"fold {k}: kept epoch {epoch}; exact so far {score.exact}/{score.total}", flush=True)
    print(
        f"{a.crops} (crops, fine-tuned reader, out of fold, {a.folds} folds by plate): {score.total} images"
    )
    print("\n".join(score.lines(True)))


def run_photos(
    a, model: TrainableReader, crops: list[Plate], extra: list[Plate], engine, looks: Looks
) -> None:  # noqa: ANN001
    from services.ocr.benchmark import PhotoRunner, load_photos, run

    labels = {t.read_text().strip().split("\t")[-1].upper() for t in a.photos.glob("*.txt")}
    usable = [q for q in crops if q.text not in labels]
    train, held = training_sets(usable, extra, looks, a.extra_held, hold=a.epochs is None)
    epoch = fine_tune(
        model,
        train,
        held,
        engine.decoder,
        engine.views,
        seed=0,
        looks=looks,
        epochs=a.epochs or EPOCHS,
        lr=a.lr,
        pull=a.pull,
    )
    out = a.export or Path(tempfile.mkdtemp()) / "finetuned.onnx"
    model.export(out)
    print(
        f"wrote {out} (kept epoch {epoch}; trained on {sum(q.tight for q in train)} of {len(crops)} crops, {len(crops) - len(usable)} left out as photo labels)"
    )
    runner = PhotoRunner()
    runner.reader.engine.model = PlateOcrModel(str(out))
    score = run(load_photos(a.photos), runner)
    print(f"{a.photos} (photos, fine-tuned reader; never saw a photo)")
    print("\n".join(score.lines(False)))


if __name__ == "__main__":
    main()

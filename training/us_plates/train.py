"""Train the second plate reader (SlotReader) and export it to ONNX.

Stage 1 (base): synthetic plates + the labelled boxes of the eu and br photo sets; no US image at all.
Stage 2 (fine-tune, optional): from a base checkpoint, add the US crops, leaving out fold `--fold` of `--folds`
(out-of-fold evaluation) and any crop whose plate is a label of `--exclude-plates-of` (a photo set reported on).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from training.us_plates.data import HEIGHT, WIDTH, encode, photo_boxes, to_input, us_crops
from training.us_plates.model import SlotReader, WithSoftmax

D = Path("/work/shared/data")


def fold_of(name: str, folds: int) -> int:
    """Deterministic fold by file name hash: independent of file order and of the labels."""
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % folds


def jitter(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """Real crop -> augmented model input: small affine, brightness/contrast, sometimes blur."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    gray = cv2.resize(gray, (WIDTH * 2, HEIGHT * 2), interpolation=cv2.INTER_AREA)
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-3, 3), rng.uniform(0.92, 1.08))
    m[0, 2] += rng.uniform(-0.04, 0.04) * w
    m[1, 2] += rng.uniform(-0.06, 0.06) * h
    gray = cv2.warpAffine(gray, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if rng.random() < 0.3:
        gray = cv2.GaussianBlur(gray, (3, 3), rng.uniform(0.3, 1.2))
    gray = np.clip(gray.astype(np.float32) * rng.uniform(0.7, 1.3) + rng.uniform(-30, 30), 0, 255).astype(
        np.uint8
    )
    return to_input(gray)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--synth", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True, help="prefix: writes PREFIX.pt and PREFIX.onnx")
    ap.add_argument("--init", type=Path, help="checkpoint to fine-tune from")
    ap.add_argument("--us-crops", type=Path, help="add these US crops (groundtruth.csv folder)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fold", type=int, default=-1, help="leave this fold of the crops out; -1 keeps all")
    ap.add_argument("--exclude-plates-of", type=Path, help="photo set whose plate labels are kept out")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=96)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--us-share", type=float, default=0.5, help="share of each batch taken from the US crops")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    rng = random.Random(a.seed)
    synth = np.load(a.synth)
    sx, sy = synth["x"], synth["y"]
    real = [(img, text) for _, img, text in photo_boxes(D / "openalpr_benchmarks/eu")]
    real += [(img, text) for _, img, text in photo_boxes(D / "openalpr_benchmarks/br")]
    us: list[tuple[np.ndarray, str]] = []
    if a.us_crops:
        banned = set()
        if a.exclude_plates_of:
            banned = {
                t.read_text().strip().split("\t")[-1].upper() for t in a.exclude_plates_of.glob("*.txt")
            }
        for name, img, text in us_crops(a.us_crops):
            if (a.fold >= 0 and fold_of(name, a.folds) == a.fold) or text in banned:
                continue
            us.append((img, text))
    print(f"synthetic {len(sx)}, eu+br {len(real)}, us crops {len(us)}", flush=True)

    net = SlotReader()
    if a.init:
        net.load_state_dict(torch.load(a.init))
    opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=a.steps, pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.05)
    # batch shares: US crops (when given), eu+br boxes, the rest synthetic
    n_us = int(a.batch * a.us_share) if us else 0
    n_real = a.batch // 6
    n_syn = a.batch - n_us - n_real
    start = time.time()
    net.train()
    for step in range(a.steps):
        idx = np.random.randint(0, len(sx), n_syn)
        xs = [sx[i] for i in idx]
        ys = [sy[i] for i in idx]
        for pool, n in ((real, n_real), (us, n_us)):
            for img, text in rng.choices(pool, k=n) if n else []:
                xs.append(jitter(img, rng))
                ys.append(encode(text))
        x = torch.from_numpy(np.stack(xs)).float().unsqueeze(1)
        y = torch.from_numpy(np.stack(ys))
        logits = net(x)
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == a.steps - 1:
            print(f"step {step} loss {loss.item():.3f} {time.time() - start:.0f}s", flush=True)
    net.eval()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), a.out.with_suffix(".pt"))
    dummy = torch.zeros(1, HEIGHT, WIDTH, 1, dtype=torch.uint8)
    torch.onnx.export(
        WithSoftmax(net),
        (dummy,),
        str(a.out.with_suffix(".onnx")),
        input_names=["input"],
        output_names=["probs"],
        dynamic_axes={"input": {0: "n"}, "probs": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    print(f"wrote {a.out}.pt/.onnx in {time.time() - start:.0f}s; loss {loss.item():.3f}")


if __name__ == "__main__":
    main()

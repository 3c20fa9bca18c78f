"""Render N synthetic plates once into an .npz (inputs + labels), in parallel worker processes."""

from __future__ import annotations

import argparse
import random
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from training.us_plates.data import encode, to_input
from training.us_plates.synth import random_text, render


def _chunk(args: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    seed, n = args
    rng = random.Random(seed)
    xs, ys = [], []
    for _ in range(n):
        text = random_text(rng)
        xs.append(to_input(render(text, rng)))
        ys.append(encode(text))
    return np.stack(xs), np.stack(ys)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    per = 500
    jobs = [(a.seed * 100000 + i, per) for i in range(a.count // per)]
    with ProcessPoolExecutor(a.workers) as pool:
        parts = list(pool.map(_chunk, jobs))
    np.savez_compressed(
        a.out, x=np.concatenate([p[0] for p in parts]), y=np.concatenate([p[1] for p in parts])
    )


if __name__ == "__main__":
    main()

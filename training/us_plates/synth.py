"""Synthetic US-style plates rendered with PIL, then degraded like camera crops (perspective, blur,
noise, contrast, JPEG). Texts follow common US serial shapes; nothing here is taken from a benchmark set."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = [
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed-Bold.ttf",
    "DejaVuSansMono-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSerifCondensed-Bold.ttf",
    "DejaVuSansMono.ttf",
]
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
# A letter, 0 digit, * either: shapes seen on US plates in general (state rules, not benchmark labels).
SHAPES = [
    "AAA0000",
    "000AAA",
    "0AAA000",
    "AA00000",
    "00A0000",
    "AAA000",
    "0AA0000",
    "AA0000",
    "A000AA",
    "000A00",
    "00000A",
    "AAA00A",
    "A00AAA",
    "AAAA00",
    "0A0000",
    "******",
    "*******",
    "*****",
    "********",
]


def random_text(rng: random.Random) -> str:
    shape = rng.choice(SHAPES)
    out = []
    for s in shape:
        pool = LETTERS if s == "A" else DIGITS if s == "0" else LETTERS + DIGITS
        out.append(rng.choice(pool))
    return "".join(out)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / name), size)


def render(text: str, rng: random.Random) -> np.ndarray:
    """A BGR plate image with a margin around it, roughly like a localiser's box plus 10%."""
    w, h = 300, 150
    light = rng.randint(170, 255)
    bg = tuple(int(np.clip(light + rng.randint(-40, 20), 0, 255)) for _ in range(3))
    ink = tuple(rng.randint(0, 90) for _ in range(3))
    if rng.random() < 0.15:  # some plates are light on dark
        bg, ink = ink, bg
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    if rng.random() < 0.7:
        d.rectangle([3, 3, w - 4, h - 4], outline=ink, width=rng.randint(1, 4))
    font_name = rng.choice(FONTS)
    size = rng.randint(62, 88)
    font = _font(font_name, size)
    spacing = rng.randint(-2, 6)
    if rng.random() < 0.3 and len(text) >= 6:  # a gap or a dash between groups, as many states print
        cut = len(text) // 2 if rng.random() < 0.5 else 3
        parts = [text[:cut], text[cut:]]
        sep = rng.choice([" ", "-", "  "])
    else:
        parts, sep = [text], ""
    shown = sep.join(parts)
    widths = [d.textlength(c, font=font) + spacing for c in shown]
    total = sum(widths)
    if total > w - 16:
        scale = (w - 16) / total
        font = _font(font_name, max(20, int(size * scale)))
        widths = [d.textlength(c, font=font) + spacing * scale for c in shown]
        total = sum(widths)
    x = (w - total) / 2 + rng.uniform(-6, 6)
    y = h / 2 - font.size * 0.6 + rng.uniform(-8, 8)
    for c, cw in zip(shown, widths, strict=True):
        d.text((x, y), c, font=font, fill=ink)
        x += cw
    small = _font(rng.choice(FONTS), rng.randint(14, 22))
    if rng.random() < 0.8:  # a state name on top, a slogan at the bottom: clutter the reader must ignore
        d.text(
            (w / 2 - 50 + rng.uniform(-30, 30), 8),
            "".join(rng.choices(LETTERS, k=rng.randint(4, 10))),
            font=small,
            fill=ink,
        )
    if rng.random() < 0.6:
        d.text(
            (w / 2 - 60 + rng.uniform(-30, 30), h - 28),
            "".join(rng.choices(LETTERS + " ", k=rng.randint(6, 14))),
            font=small,
            fill=ink,
        )
    bgr = cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)
    return degrade(bgr, rng)


def degrade(img: np.ndarray, rng: random.Random) -> np.ndarray:
    h, w = img.shape[:2]
    # perspective: move each corner a little, keep a margin of the surroundings
    j = 0.08
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + np.float32([[rng.uniform(-j, j) * w, rng.uniform(-j, j) * h] for _ in range(4)])
    m = cv2.getPerspectiveTransform(src, dst)
    border = tuple(rng.randint(0, 255) for _ in range(3))
    img = cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    pad_x, pad_y = int(w * rng.uniform(0.02, 0.12)), int(h * rng.uniform(0.02, 0.12))
    img = cv2.copyMakeBorder(img, pad_y, pad_y, pad_x, pad_x, cv2.BORDER_CONSTANT, value=border)
    # resolution: plates are often only 60-150 px wide in the photo
    scale = rng.uniform(0.2, 0.8)
    small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    img = cv2.resize(small, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.6:
        k = rng.choice([3, 5])
        img = cv2.GaussianBlur(img, (k, k), rng.uniform(0.5, 1.8))
    a, b = rng.uniform(0.5, 1.3), rng.uniform(-50, 50)
    img = np.clip(
        img.astype(np.float32) * a
        + b
        + np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(0, 12), img.shape),
        0,
        255,
    ).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(20, 90)])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


if __name__ == "__main__":
    rng = random.Random(0)
    for i in range(8):
        t = random_text(rng)
        cv2.imwrite(f"/tmp/synth_{i}_{t}.png", render(t, rng))

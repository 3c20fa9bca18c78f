"""Per-region plate patterns in OpenALPR's `postprocess/<country>.patterns` layout.

Each line is `<region> <pattern>`: `@` a letter, `#` a digit, `?` either, `[...]` a character class
(ranges allowed, `[A-HJ-N]`), any other character stands for itself. The OCR decoder uses them like
`OCR_PLATE_FORMATS`: a read that fits no pattern is replaced by the most probable read that fits one,
when that is probable enough (see services/ocr/decode.py). With every US state's patterns, an I read in a
position where no state has a letter becomes 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from anpr.plates import ANY_SLOT, DIGITS, LETTERS


@dataclass(frozen=True)
class SlotPattern:
    region: str
    spec: str
    slots: tuple[frozenset[str], ...]

    def __len__(self) -> int:
        return len(self.slots)

    def matches(self, plate: str) -> bool:
        return len(plate) == len(self.slots) and all(c in s for c, s in zip(plate, self.slots, strict=True))


def parse_pattern(spec: str, region: str = "") -> SlotPattern:
    slots: list[frozenset[str]] = []
    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch == "[":
            end = spec.find("]", i)
            if end < 0:
                raise ValueError(f"plate pattern {spec!r}: unclosed '['")
            slots.append(_char_class(spec[i + 1 : end], spec))
            i = end + 1
            continue
        table = {"@": LETTERS, "#": DIGITS, "?": ANY_SLOT}
        slots.append(table.get(ch, frozenset(ch.upper())))
        i += 1
    if not slots:
        raise ValueError(f"plate pattern {spec!r} has no character positions")
    return SlotPattern(region, spec, tuple(slots))


def load_patterns(path: Path, regions: Iterable[str] = ()) -> tuple[SlotPattern, ...]:
    """The distinct patterns of `path` (of the given regions; all when none given)."""
    wanted = {r.strip().lower() for r in regions if r.strip()}
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ValueError(f"plate patterns file {path}: {exc}") from exc
    out: dict[str, SlotPattern] = {}
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or line.lstrip().startswith(("#", ";")) and len(fields) < 2:
            continue
        if len(fields) != 2:
            raise ValueError(f"{path}:{number}: expected `<region> <pattern>`, got {line!r}")
        region, spec = fields
        if wanted and region.lower() not in wanted:
            continue
        out.setdefault(spec, parse_pattern(spec, region))
    if not out:
        raise ValueError(f"{path}: no plate patterns" + (f" for regions {sorted(wanted)}" if wanted else ""))
    return tuple(out.values())


def _char_class(body: str, spec: str) -> frozenset[str]:
    chars: set[str] = set()
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            lo, hi = body[i].upper(), body[i + 2].upper()
            if lo > hi:
                raise ValueError(f"plate pattern {spec!r}: bad range {body[i : i + 3]!r}")
            chars.update(chr(c) for c in range(ord(lo), ord(hi) + 1))
            i += 3
        else:
            chars.add(body[i].upper())
            i += 1
    if not chars:
        raise ValueError(f"plate pattern {spec!r}: empty character class")
    return frozenset(chars)

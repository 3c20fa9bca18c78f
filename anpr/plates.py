"""Plate text rules shared by the OCR, the aggregator and the records service.

A plate's identity is its normalised text: upper case A-Z0-9, no separators. Formats such as the
Texas `AAA-0000` say which positions hold letters and which digits; they are used to fix characters
an OCR confuses (O/0, I/1, B/8, S/5, Z/2, G/6) and to print a plate the way it is written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
DIGITS = frozenset("0123456789")
TEXAS = "AAA-0000"

# Read as a digit where a letter belongs, and the other way round.
_DIGIT_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B"}
_LETTER_TO_DIGIT = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}
# Characters that count as equal when deciding whether two reads are the same plate.
_CONFUSION_CLASS = {"O": "0", "D": "0", "Q": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}

_NON_ALNUM = re.compile(r"[^A-Z0-9]")


def normalize(text: str) -> str:
    """Upper case, A-Z0-9 only: 'abc-1234 ' -> 'ABC1234'."""
    return _NON_ALNUM.sub("", text.upper())


@dataclass(frozen=True)
class PlateFormat:
    """A plate layout. Spec letters: `A` (or `@`) a letter, `0` (or `#`) a digit, `*` either, any of
    ` -.` a separator that is printed but not part of the identity. `AAA-0000` is Texas."""

    spec: str

    def __post_init__(self) -> None:
        if not self.slots:
            raise ValueError(f"plate format {self.spec!r} has no character positions")
        bad = set(self.spec) - set("A@0#* -.")
        if bad:
            raise ValueError(f"plate format {self.spec!r}: unknown symbol(s) {''.join(sorted(bad))!r}")

    @property
    def slots(self) -> tuple[frozenset[str], ...]:
        return _slots(self.spec)

    def __len__(self) -> int:
        return len(self.slots)

    def matches(self, plate: str) -> bool:
        return len(plate) == len(self) and all(c in s for c, s in zip(plate, self.slots, strict=True))

    def coerce(self, plate: str) -> str | None:
        """Swap confusable characters so `plate` fits; None when it cannot fit."""
        if len(plate) != len(self):
            return None
        out = []
        for ch, allowed in zip(plate, self.slots, strict=True):
            if ch in allowed:
                out.append(ch)
            elif allowed is LETTERS_SLOT and ch in _DIGIT_TO_LETTER:
                out.append(_DIGIT_TO_LETTER[ch])
            elif allowed is DIGITS_SLOT and ch in _LETTER_TO_DIGIT:
                out.append(_LETTER_TO_DIGIT[ch])
            else:
                return None
        return "".join(out)

    def display(self, plate: str) -> str:
        """'ABC1234' -> 'ABC-1234' for a matching plate; other plates are returned unchanged."""
        if not self.matches(plate):
            return plate
        chars = iter(plate)
        return "".join(next(chars) if s in "A@0#*" else s for s in self.spec)


LETTERS_SLOT = LETTERS
DIGITS_SLOT = DIGITS
ANY_SLOT = LETTERS | DIGITS


@lru_cache(maxsize=64)
def _slots(spec: str) -> tuple[frozenset[str], ...]:
    table = {"A": LETTERS_SLOT, "@": LETTERS_SLOT, "0": DIGITS_SLOT, "#": DIGITS_SLOT, "*": ANY_SLOT}
    return tuple(table[c] for c in spec if c in table)


def parse_formats(specs: str | Iterable[str]) -> tuple[PlateFormat, ...]:
    """'AAA-0000, AA0-A000' -> formats; an empty spec means 'no format rules'."""
    items = specs.split(",") if isinstance(specs, str) else list(specs)
    return tuple(PlateFormat(s.strip()) for s in items if s.strip())


def apply_formats(plate: str, formats: Sequence[PlateFormat]) -> tuple[str, bool]:
    """Best fit of a normalised read to the formats: (text, fits). A read that already fits a format
    is kept; otherwise the first format it can be coerced into wins; otherwise it is returned as read
    (out-of-state cars do not fit the local format and must still be recorded)."""
    if any(f.matches(plate) for f in formats):
        return plate, True
    for f in formats:
        fixed = f.coerce(plate)
        if fixed is not None:
            return fixed, True
    return plate, False


def display(plate: str, formats: Sequence[PlateFormat]) -> str:
    for f in formats:
        if f.matches(plate):
            return f.display(plate)
    return plate


def confusion_key(plate: str) -> str:
    """Text with every confusable character replaced by its class representative."""
    return "".join(_CONFUSION_CLASS.get(c, c) for c in plate)


def distance(a: str, b: str) -> int:
    """Edit distance where confusable characters (O/0, I/1, B/8, S/5, Z/2, G/6) count as equal."""
    return edit_distance(confusion_key(a), confusion_key(b))


def edit_distance(a: str, b: str) -> int:
    """Insertions, deletions and substitutions turning `a` into `b` (Levenshtein)."""
    if a == b:
        return 0
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def same_plate(a: str, b: str, max_errors: int = 1) -> bool:
    """True when `a` and `b` are reads of one plate allowing `max_errors` OCR errors. Very short
    reads (under 5 characters) must match exactly apart from confusables: one error there is too
    large a share of the plate."""
    if min(len(a), len(b)) < 5:
        return confusion_key(a) == confusion_key(b)
    return distance(a, b) <= max_errors

"""From per-slot character probabilities to a plate text, with the plate formats in mind.

The OCR model gives, for each of its slots, a probability for every symbol of its alphabet (the pad
symbol marks an empty slot). A read's probability is the product of its slot probabilities: the
chance that every slot is right, which is what "the plate was read correctly" means. A geometric mean
would be length-neutral but would hide one doubtful character among confident ones, and one wrong
character is a wrong plate; so the product is the confidence we report.

Formats decide confusable characters by position: where a format wants a letter, the most probable
letter is taken even if a digit scored higher (a 0 read in a letter slot becomes O). The format-fitting
read wins when its probability is at least `min_ratio` times the plain argmax's; otherwise the argmax
stands, because a car from another state must still be read as it is.

Formats only ever swap look-alikes (0/O/D/Q, 1/I/L, 2/Z, 5/S, 6/G, 8/B): a slot whose read is not
allowed there may become an allowed look-alike, never some other character, so a California 4TIX783 can
never be bent into a Texas shape.

A fixed character prior (e.g. I, O and Q rare: most US states leave them out of serials because they
look like 1 and 0) only decides between a rare letter and its look-alike digit: where the letter is a
slot's read and its weighted probability falls below the digit's, the letter's weighted-off mass goes to
the digit. It never hands the letter's mass to another letter (the old plain re-weighting turned
California's 4TIX783 into 4TTX783). Nor does it touch a read that already fits one of the formats: the
format says a letter belongs there, and the prior is only a guess for plates no format knows.
Domain knowledge, not fitted to any benchmark; `parse_prior("")` turns it off.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from anpr.plates import PlateFormat, confusion_key
from services.ocr.patterns import SlotPattern

# Anything with character-position sets: anpr.plates.PlateFormat or an OpenALPR SlotPattern.
Format = PlateFormat | SlotPattern


@dataclass(frozen=True)
class Decoded:
    text: str  # the chosen read, A-Z0-9 only
    confidence: float
    raw: str  # the plain argmax read
    fits_format: bool
    candidates: tuple[tuple[str, float], ...]  # best first, the chosen read first


class SlotDecoder:
    def __init__(
        self,
        alphabet: str,
        pad: str,
        formats: Sequence[Format],
        *,
        min_ratio: float = 0.05,
        top_n: int = 5,
        beam: int = 3,
        prior: dict[str, float] | None = None,
    ) -> None:
        if pad not in alphabet:
            raise ValueError(f"pad symbol {pad!r} is not in the alphabet {alphabet!r}")
        self.alphabet = alphabet
        self.pad_index = alphabet.index(pad)
        self.formats = tuple(formats)
        self.min_ratio = min_ratio
        self.top_n = top_n
        self.beam = beam
        unknown = set(prior or ()) - set(alphabet)
        if unknown:
            raise ValueError(f"prior for symbol(s) not in the alphabet: {''.join(sorted(unknown))}")
        # (letter index, its look-alike digit's index, weight) for each letter the prior weighs
        self._prior = [
            (alphabet.index(c), alphabet.index(confusion_key(c)), w)
            for c, w in (prior or {}).items()
            if confusion_key(c) != c and confusion_key(c) in alphabet
        ]
        # Per symbol: the alphabet indices of its look-alikes (itself included).
        keys = [confusion_key(c) for c in alphabet]
        self._look_alikes = [np.array([j for j, k in enumerate(keys) if k == key]) for key in keys]
        # Per format, per position: the alphabet indices allowed there.
        self._format_masks = [
            [np.array([i for i, c in enumerate(alphabet) if c in slot], dtype=np.intp) for slot in f.slots]
            for f in self.formats
        ]

    def decode(self, probs: np.ndarray) -> Decoded:
        """`probs`: [slots, len(alphabet)] probabilities of one plate."""
        probs = self._weighed(np.asarray(probs, dtype=np.float64))
        best = probs.argmax(axis=1)
        raw = self._text(best)
        raw_p = float(np.prod(probs[np.arange(len(best)), best]))
        fitted = [c for c in (self._fit(probs, m) for m in self._format_masks) if c is not None]
        chosen, chosen_p, fits = raw, raw_p, any(f.matches(raw) for f in self.formats)
        if not fits and fitted:
            text, p = max(fitted, key=lambda c: c[1])
            if p >= self.min_ratio * raw_p:
                chosen, chosen_p, fits = text, p, True
        others = dict(self._beam(probs))
        for text, p in fitted:
            others[text] = max(p, others.get(text, 0.0))
        others.pop(chosen, None)
        ranked = sorted(((t, p) for t, p in others.items() if t), key=lambda c: -c[1])
        candidates = ((chosen, chosen_p), *ranked)[: self.top_n] if chosen else tuple(ranked[: self.top_n])
        return Decoded(chosen, chosen_p, raw, fits, tuple(candidates))

    def plain_text(self, probs: np.ndarray) -> str:
        """The models' own read of `probs`: the argmax, no prior, no formats."""
        return self._text(np.asarray(probs).argmax(axis=1))

    def _text(self, indices: Sequence[int]) -> str:
        return "".join(self.alphabet[i] for i in indices if i != self.pad_index)

    def _weighed(self, probs: np.ndarray) -> np.ndarray:
        """The prior applied: a rare letter read where its digit is nearly as likely becomes the digit,
        unless the plain read already fits a format (California's 4ZOW567 under a 0AAA000 format)."""
        if not self._prior or any(f.matches(self._text(probs.argmax(axis=1))) for f in self.formats):
            return probs
        probs = probs.copy()
        best = probs.argmax(axis=1)
        for letter, digit, w in self._prior:
            for i in np.flatnonzero(best == letter):
                if probs[i, letter] * w < probs[i, digit]:
                    probs[i, digit] += probs[i, letter] * (1.0 - w)
                    probs[i, letter] *= w
        return probs

    def _fit(self, probs: np.ndarray, masks: list[np.ndarray]) -> tuple[str, float] | None:
        """Most probable read of exactly this format that changes characters only into look-alikes:
        its characters first, then padding. None when some slot's read has no allowed look-alike."""
        n = len(masks)
        if n > len(probs):
            return None
        chosen = []
        for i, m in enumerate(masks):
            allowed = np.intersect1d(m, self._look_alikes[int(probs[i].argmax())])
            if not len(allowed):
                return None
            chosen.append(int(allowed[probs[i, allowed].argmax()]))
        p = float(np.prod([probs[i, c] for i, c in enumerate(chosen)]) * np.prod(probs[n:, self.pad_index]))
        return self._text(chosen), p

    def _beam(self, probs: np.ndarray) -> list[tuple[str, float]]:
        """A small beam over the slots: the most probable reads, pad symbols dropped."""
        paths: list[tuple[float, tuple[int, ...]]] = [(1.0, ())]
        width = max(self.top_n, self.beam) * 2
        for slot in probs:
            top = np.argsort(slot)[::-1][: self.beam]
            grown = [(p * float(slot[i]), path + (int(i),)) for p, path in paths for i in top]
            paths = heapq.nlargest(width, grown, key=lambda x: x[0])
        reads: dict[str, float] = {}
        for p, path in paths:
            text = self._text(path)
            reads[text] = max(p, reads.get(text, 0.0))
        return list(reads.items())


def parse_prior(spec: str) -> dict[str, float]:
    """'I:0.1, O:0.1' -> {'I': 0.1, 'O': 0.1}; '' -> {} (no prior)."""
    out: dict[str, float] = {}
    for item in spec.split(","):
        if not item.strip():
            continue
        symbol, sep, weight = item.partition(":")
        symbol = symbol.strip().upper()
        try:
            value = float(weight)
        except ValueError:
            value = -1.0
        if not sep or len(symbol) != 1 or not 0.0 < value <= 1.0:
            raise ValueError(f"character prior {item.strip()!r}: expected SYMBOL:WEIGHT with 0 < WEIGHT <= 1")
        out[symbol] = value
    return out

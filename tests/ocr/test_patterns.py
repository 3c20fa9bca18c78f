"""OpenALPR plate patterns: parsing, loading the real US file, and decoding with them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anpr.plates import DIGITS, LETTERS, parse_formats
from services.ocr.decode import SlotDecoder
from services.ocr.patterns import load_patterns, parse_pattern

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"


def test_pattern_symbols_classes_and_ranges() -> None:
    p = parse_pattern("@#?[A-CX][7]Q")
    assert p.slots[0] == LETTERS and p.slots[1] == DIGITS and p.slots[2] == LETTERS | DIGITS
    assert p.slots[3] == frozenset("ABCX") and p.slots[4] == frozenset("7") and p.slots[5] == frozenset("Q")
    assert p.matches("A1ZB7Q") and not p.matches("A1ZD7Q") and not p.matches("A1ZB7")
    for bad in ("", "[AB", "[C-A]#"):
        with pytest.raises(ValueError):
            parse_pattern(bad)


def test_the_us_patterns_file(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / "models" / "plates" / "openalpr_us" / "us.patterns"
    every = load_patterns(path)
    texas = load_patterns(path, ["tx"])
    assert {p.spec for p in texas} == {"@@@####", "@##@@@", "###@@@", "@@@###", "@@#@###"}
    assert len(every) > 50 and len({p.spec for p in every}) == len(every)
    assert any(p.matches("DL9E1U") for p in every) and not any(p.matches("DL9EIU") for p in every)
    with pytest.raises(ValueError, match="no plate patterns"):
        load_patterns(path, ["zz"])
    (tmp_path / "bad.patterns").write_text("tx @@@#### extra\n")
    with pytest.raises(ValueError, match="expected"):
        load_patterns(tmp_path / "bad.patterns")


def test_a_confident_i_where_no_state_has_a_letter_becomes_1(data_dir: Path) -> None:
    # The model's read of a Missouri-style DL9E1U: I at 0.94, 1 at 0.06 (as measured on such a plate).
    rows = []
    for ch in "DL9E":
        rows.append({ch: 0.99})
    rows += [{"I": 0.94, "1": 0.055}, {"U": 0.99}]
    probs = np.full((9, len(ALPHABET)), 1e-4)
    for i in range(9):
        for ch, p in (rows[i] if i < len(rows) else {"_": 0.99}).items():
            probs[i, ALPHABET.index(ch)] = p
    patterns = load_patterns(data_dir / "models" / "plates" / "openalpr_us" / "us.patterns")
    texas = parse_formats("AAA-0000")
    assert SlotDecoder(ALPHABET, "_", texas).decode(probs).text == "DL9EIU"
    assert SlotDecoder(ALPHABET, "_", texas + patterns).decode(probs).text == "DL9E1U"

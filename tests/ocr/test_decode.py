"""Format-aware decoding of per-slot probabilities (synthetic arrays: the rules, not the model)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.plates import parse_formats
from services.ocr.decode import SlotDecoder, parse_prior

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
SLOTS = 9


def probs(*slots: dict[str, float]) -> np.ndarray:
    """One row per slot; each given as {symbol: p}, the rest of the mass spread evenly; missing slots pad."""
    rows = []
    for i in range(SLOTS):
        spec = slots[i] if i < len(slots) else {"_": 0.99}
        row = np.full(len(ALPHABET), (1.0 - sum(spec.values())) / (len(ALPHABET) - len(spec)))
        for ch, p in spec.items():
            row[ALPHABET.index(ch)] = p
        rows.append(row)
    return np.array(rows)


def clear(text: str, p: float = 0.97) -> list[dict[str, float]]:
    return [{c: p} for c in text]


TEXAS = SlotDecoder(ALPHABET, "_", parse_formats("AAA-0000"), min_ratio=0.05, top_n=5)


@pytest.mark.parametrize(
    ("digit", "letter"), [("0", "O"), ("1", "I"), ("8", "B"), ("5", "S"), ("2", "Z"), ("6", "G")]
)
def test_a_digit_read_where_a_letter_belongs_becomes_the_letter(digit: str, letter: str) -> None:
    slots = clear("AB") + [{digit: 0.6, letter: 0.35}] + clear("1234")
    d = TEXAS.decode(probs(*slots))
    assert d.raw == f"AB{digit}1234"
    assert d.text == f"AB{letter}1234" and d.fits_format


@pytest.mark.parametrize(
    ("letter", "digit"), [("O", "0"), ("I", "1"), ("B", "8"), ("S", "5"), ("Z", "2"), ("G", "6")]
)
def test_a_letter_read_where_a_digit_belongs_becomes_the_digit(letter: str, digit: str) -> None:
    slots = clear("ABC1") + [{letter: 0.6, digit: 0.35}] + clear("34")
    d = TEXAS.decode(probs(*slots))
    assert d.raw == f"ABC1{letter}34"
    assert d.text == f"ABC1{digit}34"


def test_the_same_symbol_is_kept_where_it_fits() -> None:
    # 'O' in a letter slot and '0' in a digit slot are both right as read.
    d = TEXAS.decode(probs(*clear("OBO"), *clear("0800")))
    assert d.text == d.raw == "OBO0800"


def test_an_out_of_state_plate_is_read_as_it_is() -> None:
    # '7ABC123': nothing close fits AAA-0000, so the plain read stands.
    d = TEXAS.decode(probs(*clear("7ABC123")))
    assert d.text == "7ABC123" and not d.fits_format


def test_a_fitting_read_far_less_probable_than_the_plain_one_loses() -> None:
    slots = clear("AB") + [{"8": 0.97, "B": 0.02}] + clear("1234")  # B is 2% of 8's probability: under 5%
    d = TEXAS.decode(probs(*slots))
    assert d.text == "AB81234" and not d.fits_format
    assert "ABB1234" in [t for t, _ in d.candidates]  # still offered as a candidate


def test_confidence_is_the_product_of_the_chosen_slot_probabilities() -> None:
    p = probs(*clear("ABC"), {"1": 0.9}, {"2": 0.8}, *clear("34"))
    d = TEXAS.decode(p)
    expected = math.prod(float(p[i, ALPHABET.index(c)]) for i, c in enumerate("ABC1234__"))
    assert d.confidence == pytest.approx(expected)
    assert d.candidates[0] == (d.text, pytest.approx(expected))


def test_candidates_best_first_chosen_first_and_at_most_top_n() -> None:
    slots = (
        clear("AB") + [{"0": 0.5, "O": 0.3, "D": 0.15}] + clear("12") + [{"3": 0.6, "8": 0.35}] + clear("4")
    )
    d = TEXAS.decode(probs(*slots))
    texts = [t for t, _ in d.candidates]
    assert texts[0] == d.text == "ABO1234"
    assert len(texts) == 5 and len(set(texts)) == 5
    assert [p for _, p in d.candidates[1:]] == sorted((p for _, p in d.candidates[1:]), reverse=True)
    assert "AB01234" in texts  # the plain read is among them


def test_several_formats_the_best_fitting_one_wins() -> None:
    two = SlotDecoder(ALPHABET, "_", parse_formats("AAA-0000, AA0A0A"), min_ratio=0.05)
    d = two.decode(probs(*clear("DL9E"), {"I": 0.6, "1": 0.38}, *clear("U")))
    assert d.raw == "DL9EIU" and d.text == "DL9E1U"


def test_no_formats_means_the_plain_read() -> None:
    free = SlotDecoder(ALPHABET, "_", (), min_ratio=0.05)
    d = free.decode(probs(*clear("AB0"), *clear("1234")))
    assert d.text == "AB01234" and not d.fits_format


def test_all_padding_reads_nothing() -> None:
    d = TEXAS.decode(probs())
    assert d.text == "" and d.candidates[0][0] != ""


@given(st.text(alphabet=ALPHABET[:-1], min_size=1, max_size=SLOTS), st.floats(0.5, 0.99))
def test_a_clear_read_decodes_to_itself_or_its_format_fit(text: str, p: float) -> None:
    d = TEXAS.decode(probs(*clear(text, p)))
    assert d.raw == text
    fixed = parse_formats("AAA-0000")[0].coerce(text)
    assert d.text == text or (d.text == fixed and d.fits_format)
    assert 0.0 <= d.confidence <= 1.0


US_PRIOR = {"I": 0.1, "O": 0.1, "Q": 0.1}


@pytest.mark.parametrize(("rare", "digit"), [("I", "1"), ("O", "0"), ("Q", "0")])
def test_the_prior_turns_a_doubtful_rare_letter_into_its_digit_outside_any_format(
    rare: str, digit: str
) -> None:
    # DL9E?U: no Texas fit (6 characters); the model slightly prefers the letter
    slots = clear("DL9E") + [{rare: 0.55, digit: 0.4}] + clear("U")
    plain = SlotDecoder(ALPHABET, "_", parse_formats("AAA-0000"))
    with_prior = SlotDecoder(ALPHABET, "_", parse_formats("AAA-0000"), prior=US_PRIOR)
    assert plain.decode(probs(*slots)).text == f"DL9E{rare}U"
    assert with_prior.decode(probs(*slots)).text == f"DL9E{digit}U"


def test_the_prior_keeps_a_confident_rare_letter() -> None:
    slots = clear("DL9E") + [{"I": 0.98}] + clear("U")
    d = SlotDecoder(ALPHABET, "_", (), prior=US_PRIOR).decode(probs(*slots))
    assert d.text == "DL9EIU"


def test_a_letter_slot_of_the_format_still_takes_the_rare_letter() -> None:
    # position decides first: O in a Texas letter slot even though the prior dislikes O
    slots = clear("AB") + [{"0": 0.6, "O": 0.35}] + clear("1234")
    d = SlotDecoder(ALPHABET, "_", parse_formats("AAA-0000"), prior=US_PRIOR).decode(probs(*slots))
    assert d.text == "ABO1234"


def test_prior_specs_are_parsed_or_refused() -> None:
    assert parse_prior("I:0.1, o:0.2") == {"I": 0.1, "O": 0.2}
    assert parse_prior("") == {}
    for bad in ("I", "I:0", "I:2", "IO:0.1", "I:x"):
        with pytest.raises(ValueError):
            parse_prior(bad)
    with pytest.raises(ValueError):
        SlotDecoder(ALPHABET, "_", (), prior={"#": 0.5})


def test_the_prior_never_hands_a_rare_letter_to_another_letter() -> None:
    # 4TIX783 (California): I doubtful against T, its digit 1 hardly likely: the I stays
    slots = clear("4T") + [{"I": 0.55, "T": 0.4, "1": 0.02}] + clear("X783")
    d = SlotDecoder(ALPHABET, "_", parse_formats("AAA-0000"), prior=US_PRIOR).decode(probs(*slots))
    assert d.text == "4TIX783"


def test_a_format_only_swaps_look_alikes() -> None:
    # ABC1M34 fits Texas only by turning M into a digit, which has no look-alike: read as it is
    slots = clear("ABC1") + [{"M": 0.6, "4": 0.35}] + clear("34")
    d = TEXAS.decode(probs(*slots))
    assert d.text == "ABC1M34" and not d.fits_format


def test_the_prior_leaves_a_read_that_already_fits_a_format() -> None:
    # 4ZOW567 (California, 0AAA000): the O fits the format's letter slot; the prior is for plates no
    # format knows and must not turn it into 4Z0W567
    slots = clear("4Z") + [{"O": 0.55, "0": 0.4}] + clear("W567")
    california = SlotDecoder(ALPHABET, "_", parse_formats("AAA-0000,0AAA000"), prior=US_PRIOR)
    texas_only = SlotDecoder(ALPHABET, "_", parse_formats("AAA-0000"), prior=US_PRIOR)
    assert california.decode(probs(*slots)).text == "4ZOW567"
    assert texas_only.decode(probs(*slots)).text == "4Z0W567"

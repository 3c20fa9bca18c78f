from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anpr.plates import (
    PlateFormat,
    apply_formats,
    confusion_key,
    display,
    distance,
    normalize,
    parse_formats,
    same_plate,
)

TEXAS = parse_formats("AAA-0000")
plates = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=5, max_size=8)


def test_normalize_strips_separators_and_case() -> None:
    assert normalize(" abc-1234 ") == "ABC1234"
    assert normalize("AB C.12·34") == "ABC1234"


@pytest.mark.parametrize(
    ("read", "fixed"),
    [
        ("ABC1234", "ABC1234"),
        ("AB01234", "ABO1234"),
        ("A8C1234", "ABC1234"),
        ("ABCI234", "ABC1234"),
        ("5ZB12O4", "SZB1204"),
        ("ABC12S4", "ABC1254"),
        ("G6G6666", "GGG6666"),
    ],
)
def test_texas_format_fixes_confusables_by_position(read: str, fixed: str) -> None:
    assert apply_formats(read, TEXAS) == (fixed, True)


def test_out_of_format_reads_are_kept_as_read() -> None:
    # Out-of-state cars must still be recorded.
    assert apply_formats("DL3C2Z", TEXAS) == ("DL3C2Z", False)
    assert apply_formats("AXC12K4", TEXAS) == ("AXC12K4", False)


def test_display_uses_the_format() -> None:
    assert display("ABC1234", TEXAS) == "ABC-1234"
    assert display("DL3C2Z", TEXAS) == "DL3C2Z"
    assert PlateFormat("@@@ ###").display("ABC123") == "ABC 123"


def test_bad_format_specs_are_refused() -> None:
    with pytest.raises(ValueError):
        PlateFormat("---")
    with pytest.raises(ValueError):
        PlateFormat("AAX-0000")


def test_same_plate_tolerates_one_error_and_confusables() -> None:
    assert same_plate("ABC1234", "ABC1234")
    assert same_plate("ABC1234", "A8C1Z34")  # confusables only: distance 0
    assert same_plate("ABC1234", "ABX1234")  # one real error
    assert same_plate("ABC1234", "ABC123")  # one character lost
    assert not same_plate("ABC1234", "ABX1235")  # two errors: another car
    assert not same_plate("AB12", "AB13")  # too short to tolerate anything


@given(plates)
def test_distance_to_itself_is_zero(p: str) -> None:
    assert distance(p, p) == 0


@given(plates, plates)
def test_distance_is_symmetric(a: str, b: str) -> None:
    assert distance(a, b) == distance(b, a)


@given(plates, plates, plates)
def test_distance_triangle_inequality(a: str, b: str, c: str) -> None:
    assert distance(a, c) <= distance(a, b) + distance(b, c)


@given(plates)
def test_a_fitted_read_fits_and_is_confusion_equal(p: str) -> None:
    fixed, fits = apply_formats(p, TEXAS)
    if fits:
        assert TEXAS[0].matches(fixed)
        assert confusion_key(fixed) == confusion_key(p)
    else:
        assert fixed == p

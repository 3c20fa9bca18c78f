"""Pure properties of the sealing and the blind index (Hypothesis)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anpr.plates import same_plate
from services.api.crypto import BlindIndex, FieldCipher, PlaintextCipher, TamperError, unwrap_key, wrap_key
from services.api.keyfile import KeyPair

KEYS = {1: os.urandom(32), 2: os.urandom(32)}
CIPHER = FieldCipher(KEYS, active_id=2)
INDEX = BlindIndex(os.urandom(32))
PLATE = st.text(alphabet="ABCDEFGHJKMNPRTUVWXY0123456789", min_size=5, max_size=8)


@given(st.binary(max_size=2048), st.sampled_from(["plate", "snapshot"]), st.uuids())
def test_round_trip(data: bytes, column: str, row) -> None:  # noqa: ANN001
    assert CIPHER.open("events", column, str(row), CIPHER.seal("events", column, str(row), data)) == data


@given(st.binary(min_size=1, max_size=256), st.data())
def test_any_flipped_bit_is_detected(data: bytes, draw) -> None:  # noqa: ANN001
    blob = bytearray(CIPHER.seal("events", "plate", "r1", data))
    i = draw.draw(st.integers(0, len(blob) - 1))
    blob[i] ^= 1 << draw.draw(st.integers(0, 7))
    with pytest.raises(TamperError):
        CIPHER.open("events", "plate", "r1", bytes(blob))


def test_context_binds_table_column_row_and_key() -> None:
    blob = CIPHER.seal("events", "plate", "row-a", b"VLX039")
    for table, column, row in (
        ("events", "plate", "row-b"),
        ("events", "candidates", "row-a"),
        ("clients", "plate", "row-a"),
    ):
        with pytest.raises(TamperError):
            CIPHER.open(table, column, row, blob)
    older = FieldCipher({1: KEYS[1]}, active_id=1)
    with pytest.raises(TamperError, match="unknown data key 2"):
        older.open("events", "plate", "row-a", blob)
    assert CIPHER.open("events", "plate", "row-a", older.seal("events", "plate", "row-a", b"x")) == b"x"
    with pytest.raises(TamperError):  # plaintext (benchmark) blobs never pass as sealed, nor the reverse
        CIPHER.open("events", "plate", "row-a", PlaintextCipher().seal("events", "plate", "row-a", b"VLX039"))
    with pytest.raises(TamperError):
        PlaintextCipher().open("events", "plate", "row-a", blob)


def test_rsa_oaep_wrapping(key_material) -> None:  # noqa: ANN001
    pair: KeyPair = key_material.pair
    wrapped = wrap_key(pair.public, KEYS[1])
    assert len(wrapped) == 384 and unwrap_key(pair.private, wrapped) == KEYS[1]


@settings(max_examples=300)
@given(PLATE, st.data())
def test_one_edit_always_shares_a_near_digest(plate: str, draw) -> None:  # noqa: ANN001
    i = draw.draw(st.integers(0, len(plate) - 1))
    c = draw.draw(st.sampled_from("ABCDEFGHJKMNPRTUVWXY0123456789"))
    edited = draw.draw(
        st.sampled_from(
            [plate[:i] + c + plate[i + 1 :], plate[:i] + plate[i + 1 :], plate[:i] + c + plate[i:]]
        )
    )
    if same_plate(plate, edited):
        assert INDEX.near(plate) & INDEX.near(edited), (plate, edited)


@given(PLATE, PLATE)
def test_exact_digest_is_equality(a: str, b: str) -> None:
    assert (INDEX.exact(a) == INDEX.exact(b)) == (a == b)
    assert INDEX.exact(a) != BlindIndex(os.urandom(32)).exact(a)  # keyed: another key, other digests

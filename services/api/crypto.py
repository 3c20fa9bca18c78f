"""Envelope encryption of sensitive columns and the blind index used to search them.

A field is sealed with AES-256-GCM under a data key. The associated data binds the ciphertext to
its table, column and row, so a ciphertext copied into another row or column fails to open. Data
keys are stored only wrapped with RSA-OAEP (SHA-256); see keyring.py.

Blob layout: version byte (1) | data key id (4, big endian) | nonce (12) | ciphertext + tag (16).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from anpr.plates import confusion_key

SEALED = 0x01
PLAIN = 0x00  # benchmark-only "encryption off" mode
_HEADER = struct.Struct(">BI")
_NONCE_LEN = 12
DATA_KEY_BYTES = 32

_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class TamperError(Exception):
    """A sealed field did not open: altered, moved to another row/column, or under an unknown key."""


def wrap_key(public: rsa.RSAPublicKey, data_key: bytes) -> bytes:
    return public.encrypt(data_key, _OAEP)


def unwrap_key(private: rsa.RSAPrivateKey, wrapped: bytes) -> bytes:
    return private.decrypt(wrapped, _OAEP)


def _aad(header: bytes, table: str, column: str, row: str) -> bytes:
    return header + f"|{table}.{column}|{row}".encode()


class Cipher(Protocol):
    encrypted: bool

    def seal(self, table: str, column: str, row: str, plaintext: bytes) -> bytes: ...

    def open(self, table: str, column: str, row: str, blob: bytes) -> bytes: ...


class FieldCipher:
    """Seals with the active data key; opens with whichever known key a blob names."""

    encrypted = True

    def __init__(self, data_keys: dict[int, bytes], active_id: int) -> None:
        if active_id not in data_keys:
            raise ValueError(f"active data key {active_id} is not among the loaded keys")
        self._aead = {kid: AESGCM(key) for kid, key in data_keys.items()}
        self.active_id = active_id

    def seal(self, table: str, column: str, row: str, plaintext: bytes) -> bytes:
        header = _HEADER.pack(SEALED, self.active_id)
        nonce = os.urandom(_NONCE_LEN)
        return (
            header
            + nonce
            + self._aead[self.active_id].encrypt(nonce, plaintext, _aad(header, table, column, row))
        )

    def open(self, table: str, column: str, row: str, blob: bytes) -> bytes:
        if len(blob) < _HEADER.size + _NONCE_LEN + 16:
            raise TamperError(f"{table}.{column} of {row}: too short to be sealed")
        header = blob[: _HEADER.size]
        version, key_id = _HEADER.unpack(header)
        if version != SEALED:
            raise TamperError(f"{table}.{column} of {row}: not sealed (version byte {version})")
        aead = self._aead.get(key_id)
        if aead is None:
            raise TamperError(f"{table}.{column} of {row}: unknown data key {key_id}")
        nonce = blob[_HEADER.size : _HEADER.size + _NONCE_LEN]
        try:
            return aead.decrypt(nonce, blob[_HEADER.size + _NONCE_LEN :], _aad(header, table, column, row))
        except InvalidTag:
            raise TamperError(f"{table}.{column} of {row}: authentication failed") from None


class PlaintextCipher:
    """BENCHMARK ONLY (API_BENCHMARK_PLAINTEXT, refused outside development): stores fields as they
    are, so the cost of encryption can be measured. Never opens a sealed blob and the sealed cipher
    never opens these, so a database cannot be silently mixed."""

    encrypted = False

    def seal(self, table: str, column: str, row: str, plaintext: bytes) -> bytes:
        return bytes([PLAIN]) + plaintext

    def open(self, table: str, column: str, row: str, blob: bytes) -> bytes:
        if not blob or blob[0] != PLAIN:
            raise TamperError(f"{table}.{column} of {row}: sealed data in plaintext mode")
        return blob[1:]


class BlindIndex:
    """Keyed digests of plates, so rows can be found by plate without decrypting the table.

    `exact` digests the normalised plate. `near` digests the confusion key (O/0, I/1, ... merged)
    and each variant with one character deleted: two plates within one edit of each other always
    share a digest (a substitution at i leaves equal i-deletions; an insertion makes the shorter one
    a deletion of the longer), so a tolerant search is an indexed lookup. Shared digests also come
    from some two-edit pairs, so candidates are decrypted and confirmed with `same_plate`.
    """

    def __init__(self, key: bytes) -> None:
        # Its own key, expanded once; a domain label keeps exact and near digests apart.
        self._key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"anpr-api plate index v1"
        ).derive(key)

    def _digest(self, domain: bytes, text: str) -> str:
        return hmac.new(self._key, domain + b"\x00" + text.encode(), hashlib.sha256).hexdigest()

    def exact(self, plate: str) -> str:
        return self._digest(b"exact", plate)

    def near(self, plate: str) -> set[str]:
        return {self._digest(b"near", v) for v in near_variants(plate)}


def near_variants(plate: str) -> set[str]:
    key = confusion_key(plate)
    return {key} | {key[:i] + key[i + 1 :] for i in range(len(key))}

"""The RSA key pair file: the only thing that can unwrap the data keys, kept off the database.

The file is a standard encrypted PKCS#8 PEM preceded by one line of explanatory text (RFC 7468
allows it) that records a scrypt salt and cost. PKCS#8's own password KDF (PBKDF2, 2048 rounds) is
cheap to brute-force, so the passphrase is first stretched with scrypt and the hex result is the PEM
password: `openssl pkey` can still read the file given that stretched password.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

_KDF_LINE = re.compile(r"^kdf: scrypt n=(\d+) r=(\d+) p=(\d+) salt=([A-Za-z0-9_=-]+)$", re.MULTILINE)
_PEM_START = "-----BEGIN ENCRYPTED PRIVATE KEY-----"
MIN_BITS = 3072


class KeyFileError(Exception):
    """The key file is missing, malformed, or the passphrase does not open it."""


@dataclass(frozen=True)
class KeyPair:
    private: rsa.RSAPrivateKey

    @property
    def public(self) -> rsa.RSAPublicKey:
        return self.private.public_key()

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the public key (SubjectPublicKeyInfo DER), hex: names the pair in the database."""
        der = self.public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).hexdigest()


def generate(bits: int = MIN_BITS) -> KeyPair:
    if bits < MIN_BITS:
        raise ValueError(f"RSA keys must have at least {MIN_BITS} bits")
    return KeyPair(rsa.generate_private_key(public_exponent=65537, key_size=bits))


def _stretch(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode()).hex().encode()


def dump(pair: KeyPair, passphrase: str, scrypt_n: int) -> bytes:
    salt = os.urandom(16)
    r, p = 8, 1
    password = _stretch(passphrase, salt, scrypt_n, r, p)
    pem = pair.private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )
    salt_b64 = base64.urlsafe_b64encode(salt).decode()
    header = (
        f"ANPR records service RSA-{pair.private.key_size} private key {pair.fingerprint[:16]}\n"
        f"kdf: scrypt n={scrypt_n} r={r} p={p} salt={salt_b64}\n"
    )
    return header.encode() + pem


def load_bytes(data: bytes, passphrase: str) -> KeyPair:
    text = data.decode("ascii", errors="replace")
    match = _KDF_LINE.search(text)
    start = text.find(_PEM_START)
    if match is None or start < 0:
        raise KeyFileError("not an ANPR key file (missing kdf line or encrypted PEM block)")
    n, r, p = (int(match.group(i)) for i in (1, 2, 3))
    salt = base64.urlsafe_b64decode(match.group(4))
    try:
        password = _stretch(passphrase, salt, n, r, p)
        key = serialization.load_pem_private_key(text[start:].encode(), password)
    except (ValueError, TypeError, InvalidKey) as exc:
        raise KeyFileError("the passphrase does not open the key file (or the file is damaged)") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_BITS:
        raise KeyFileError(f"the key file must hold an RSA key of at least {MIN_BITS} bits")
    return KeyPair(key)


def load(path: Path, passphrase: str) -> KeyPair:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from exc
    return load_bytes(data, passphrase)


def write(path: Path, pair: KeyPair, passphrase: str, scrypt_n: int, *, force: bool = False) -> None:
    """Write owner-read-only, atomically; an existing file is kept unless `force`."""
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to replace it (its data keys become unreadable)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(dump(pair, passphrase, scrypt_n))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)

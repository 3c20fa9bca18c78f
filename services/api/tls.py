"""A self-signed certificate for the records service's HTTPS (`python -m services.api tls init`).

The Pi serves on the LAN: there is no public name for a CA to vouch for, so the owner's browser and
the edge trust this certificate itself (its SHA-256 fingerprint is printed to compare once).
"""

from __future__ import annotations

import ipaddress
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 825  # the longest validity browsers accept for a server certificate


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def make_certificate(names: list[str], now: datetime | None = None) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `names` (host names and IP addresses)."""
    if not names:
        raise ValueError("give at least one host name or IP address")
    now = now or datetime.now(timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_san(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_pair(certfile: Path, keyfile: Path, names: list[str], force: bool = False) -> str:
    """Write both files (the key owner-only); the certificate's SHA-256 fingerprint."""
    for path in (certfile, keyfile):
        if path.exists() and not force:
            raise FileExistsError(f"{path} exists (--force replaces it)")
        path.parent.mkdir(parents=True, exist_ok=True)
    cert_pem, key_pem = make_certificate(names)
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    certfile.write_bytes(cert_pem)
    return x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256()).hex(":")

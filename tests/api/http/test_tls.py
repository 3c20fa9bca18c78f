"""HTTPS: `tls init` writes a certificate for the Pi's names, and the served API speaks TLS with it
(HSTS on every answer)."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import httpx
import pytest

from services.api.cli import main
from tests.api.conftest import KeyMaterial
from tests.api.http.conftest import start, stop


def test_tls_init_then_serve_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served_database: str, key_material: KeyMaterial
) -> None:
    cert, key = tmp_path / "tls" / "cert.pem", tmp_path / "tls" / "key.pem"
    monkeypatch.setenv("ANPR_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("API_TLS_CERTFILE", str(cert))
    monkeypatch.setenv("API_TLS_KEYFILE", str(key))
    assert main(["tls", "init", "localhost", "127.0.0.1"]) == 0
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert main(["tls", "init", "localhost"]) == 1  # never overwrites silently

    served = start(
        tmp_path, served_database, key_material, API_TLS_CERTFILE=str(cert), API_TLS_KEYFILE=str(key)
    )
    try:
        trust = ssl.create_default_context(cafile=str(cert))
        resp = httpx.get(f"https://127.0.0.1:{served.port}/healthz", verify=trust)
        assert resp.status_code == 200
        assert resp.headers["strict-transport-security"] == "max-age=31536000"
        with pytest.raises(httpx.ConnectError):  # a client that does not trust it refuses it
            httpx.get(f"https://127.0.0.1:{served.port}/healthz")
        with pytest.raises(httpx.HTTPError):  # and plain HTTP is not served on that port
            httpx.get(f"http://127.0.0.1:{served.port}/healthz", timeout=3)
    finally:
        stop(served)

"""The admin CLI, run in process as `python -m services.api ...` would run it."""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyotp
import pytest

from services.api import keyfile
from services.api.cli import main
from services.api.runtime import Runtime
from services.api.settings import ApiSettings
from services.api.store import EventFilter
from tests.api.conftest import PASSPHRASE, event


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    key_file = tmp_path / "keys" / "api-rsa.pem"
    values = {
        "ANPR_ENV_FILE": "/nonexistent/.env",
        "ANPR_ENVIRONMENT": "development",
        "API_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'api.db'}",
        "API_PRIVATE_KEY_FILE": str(key_file),
        "API_KEY_PASSPHRASE": PASSPHRASE,
        "API_KEY_SCRYPT_N": str(2**10),
        "API_BLIND_INDEX_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "API_MQTT_INGEST": "false",
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    return key_file


def test_keys_init_writes_a_protected_key_file_and_never_overwrites(env: Path, capsys) -> None:  # noqa: ANN001
    assert main(["keys", "init"]) == 0
    out = capsys.readouterr().out
    assert "fingerprint" in out and "API_DEVICE_TOKEN=" in out and "API_BLIND_INDEX_KEY=" not in out
    assert env.stat().st_mode & 0o777 == 0o600
    first = env.read_bytes()
    assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in first
    pair = keyfile.load(env, PASSPHRASE)
    assert pair.private.key_size == 3072
    with pytest.raises(keyfile.KeyFileError):
        keyfile.load(env, PASSPHRASE + "!")
    assert main(["keys", "init"]) == 1
    assert "--force" in capsys.readouterr().err and env.read_bytes() == first
    assert main(["keys", "init", "--force"]) == 0 and env.read_bytes() != first


def test_clients_commands(env: Path, capsys) -> None:  # noqa: ANN001
    assert main(["keys", "init"]) == 0
    capsys.readouterr()
    assert main(["clients", "create", "front-desk"]) == 0
    out = capsys.readouterr().out
    token = out.split("API token (shown once, store it safely):\n  ")[1].split()[0]
    uri = out.split("TOTP provisioning URI (add to an authenticator app):\n  ")[1].split()[0]
    totp = pyotp.parse_uri(uri)
    assert token.startswith("anpr_") and uri.startswith("otpauth://totp/") and "issuer=ANPR" in uri
    assert "\u2588" in out or "##" in out  # the QR code is drawn
    assert main(["clients", "create", "front-desk"]) == 1  # names are unique

    async def login() -> str:
        rt = Runtime(ApiSettings())
        await rt.start()
        try:
            session, _ = await rt.auth.login(token, totp.now(), "127.0.0.1")
            return session
        finally:
            await rt.stop()

    assert asyncio.run(login())  # the printed token and secret work
    assert main(["clients", "list"]) == 0
    listed = capsys.readouterr().out
    assert "front-desk" in listed and "active" in listed and token not in listed
    assert main(["clients", "disable", "front-desk"]) == 0
    assert main(["clients", "list"]) == 0 and "disabled" in capsys.readouterr().out
    assert main(["clients", "delete", "front-desk"]) == 0
    assert main(["clients", "delete", "front-desk"]) == 1
    capsys.readouterr()
    assert main(["clients", "list"]) == 0 and "front-desk" not in capsys.readouterr().out


def test_keys_rotate_rewraps_and_every_row_stays_readable(env: Path, capsys) -> None:  # noqa: ANN001
    assert main(["keys", "init"]) == 0
    plates = ["VLX039", "FA8M7S", "K179658", "HB8X9J"]

    async def ingest() -> None:
        rt = Runtime(ApiSettings())
        await rt.start()
        for p in plates:
            await rt.store.ingest(event(p))
        await rt.stop()

    asyncio.run(ingest())
    old = keyfile.load(env, PASSPHRASE)
    assert main(["keys", "rotate"]) == 0
    assert "rotated to key version 2: 1 data key(s) re-wrapped" in capsys.readouterr().out
    new = keyfile.load(env, PASSPHRASE)
    assert new.fingerprint != old.fingerprint
    assert not list(env.parent.glob("*.new")) and not list(env.parent.glob("*.retired-*"))

    async def read() -> list[str]:
        rt = Runtime(ApiSettings())
        await rt.start()
        items, _ = await rt.store.search(EventFilter(), 100, 0)
        await rt.stop()
        return sorted(e.plate for e in items)

    assert asyncio.run(read()) == sorted(plates)
    assert main(["keys", "rotate", "--keep-old"]) == 0
    assert len(list(env.parent.glob("*.retired-v2"))) == 1
    assert asyncio.run(read()) == sorted(plates)


def test_check_config_and_refusals(env: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # noqa: ANN001
    with pytest.raises(SystemExit) as done:
        main(["--check-config"])
    assert done.value.code == 0 and PASSPHRASE not in capsys.readouterr().out
    monkeypatch.setenv("ANPR_ENVIRONMENT", "production")
    with pytest.raises(SystemExit) as refused:  # the test scrypt cost is too cheap for production
        main(["--check-config"])
    assert refused.value.code == 2 and "API_KEY_SCRYPT_N" in capsys.readouterr().err
    monkeypatch.setenv("API_KEY_SCRYPT_N", str(2**15))
    monkeypatch.setenv("API_KEY_PASSPHRASE", "changeme")
    monkeypatch.setenv("API_BENCHMARK_PLAINTEXT", "true")
    with pytest.raises(SystemExit):
        main(["--check-config"])
    err = capsys.readouterr().err
    assert "API_KEY_PASSPHRASE" in err and "API_BENCHMARK_PLAINTEXT" in err
    monkeypatch.setenv("API_DATABSE_URL", "typo")
    with pytest.raises(SystemExit):
        main(["--check-config"])


def test_audit_verify_and_purge(env: Path, capsys) -> None:  # noqa: ANN001
    assert main(["keys", "init"]) == 0
    assert main(["clients", "create", "front-desk", "--no-qr"]) == 0
    assert main(["clients", "disable", "front-desk"]) == 0

    async def ingest_old() -> None:
        rt = Runtime(ApiSettings())
        await rt.start()
        await rt.store.ingest(event("VLX039", at=datetime.now(timezone.utc) - timedelta(days=400)))
        await rt.store.ingest(event("FA8M7S"))
        await rt.stop()

    asyncio.run(ingest_old())
    capsys.readouterr()
    assert main(["purge", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith("would purge 1 event(s) before ")
    assert main(["purge"]) == 0
    assert capsys.readouterr().out.startswith("purged 1 event(s) before ")
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.strip() == "ok 3 entries"  # create, disable, purge

    db = sqlite3.connect(os.environ["API_DATABASE_URL"].split("///", 1)[1])
    with db:
        db.execute("UPDATE audit_log SET subject = 'someone-else' WHERE seq = 1")
    db.close()
    assert main(["audit", "verify"]) == 1
    assert (
        capsys.readouterr().err.splitlines()[-1]
        == "broken at entry 1: its content does not match its hash (edited)"
    )

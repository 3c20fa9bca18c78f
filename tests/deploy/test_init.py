"""deploy/init.py: the secrets of a new installation, in the files and formats compose and the
services expect."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from services.api import keyfile
from services.api.settings import ApiSettings

REPO = Path(__file__).resolve().parents[2]
INIT = REPO / "deploy" / "init.py"
USERS = ("capture", "detector", "ocr", "aggregator", "api", "healthcheck")


def init(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, str(INIT), "--dir", str(root), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def owner_only(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("install") / "secrets"
    init(root, "edge")
    init(root, "pi", "--keys-with", "local", "--mqtt-password-file", str(root / "edge" / "mqtt_api_password"))
    return root


def test_edge_makes_a_hashed_password_file_for_every_service(installed: Path) -> None:
    edge = installed / "edge"
    passwd = (edge / "mosquitto_passwd").read_text()
    assert sorted(line.split(":", 1)[0] for line in passwd.splitlines()) == sorted(USERS)
    for user in USERS:
        password = (edge / f"mqtt_{user}_password").read_text().strip()
        assert len(password) >= 40 and password not in passwd
        assert owner_only(edge / f"mqtt_{user}_password")
    assert all(line.split(":", 2)[1].startswith("$7$") for line in passwd.splitlines())  # PBKDF2-SHA512
    assert owner_only(edge / "mosquitto_passwd")
    assert (installed / ".gitignore").read_text().splitlines()[-1] == "*"


def test_a_second_run_keeps_every_secret(installed: Path, tmp_path: Path) -> None:
    copy = tmp_path / "secrets"
    shutil.copytree(installed, copy)
    before = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    out = init(copy, "edge").stdout + init(copy, "pi", "--keys-with", "local").stdout
    after = {p.relative_to(copy): p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    assert after == before
    assert "kept" in out


def test_force_replaces_the_passwords(installed: Path, tmp_path: Path) -> None:
    copy = tmp_path / "secrets"
    shutil.copytree(installed, copy)
    old = (copy / "edge" / "mqtt_ocr_password").read_text()
    init(copy, "--force", "edge")
    assert (copy / "edge" / "mqtt_ocr_password").read_text() != old


def test_pi_secrets_are_what_the_records_service_reads(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pi = installed / "pi"
    # Compose mounts these files as /run/secrets/<name>; the settings read them by field name.
    monkeypatch.setenv("ANPR_ENV_FILE", "/nonexistent/.env")
    monkeypatch.setenv("API_PRIVATE_KEY_FILE", str(pi / "api_rsa_key.pem"))
    settings = ApiSettings(_secrets_dir=str(pi))
    db_password = (pi / "mariadb_password").read_text().strip()
    assert settings.database_url == f"mysql+aiomysql://anpr:{db_password}@mariadb:3306/anpr"
    assert settings.blind_index_key_bytes is not None and len(settings.blind_index_key_bytes) == 32
    assert settings.audit_key_bytes is not None and len(settings.audit_key_bytes) == 32
    assert settings.key_passphrase is not None
    pair = keyfile.load(settings.private_key_file, settings.key_passphrase.get_secret_value())
    assert pair.private.key_size >= 3072
    assert (pi / "mqtt_password").read_text() == (installed / "edge" / "mqtt_api_password").read_text()
    for path in pi.iterdir():
        assert owner_only(path), path


def test_a_wrong_passphrase_does_not_open_the_key(installed: Path) -> None:
    with pytest.raises(keyfile.KeyFileError):
        keyfile.load(installed / "pi" / "api_rsa_key.pem", "not the passphrase at all")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_tls_material_verifies_for_the_given_host(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    init(root, "edge", "--tls-host", "192.168.1.50")
    tls = root / "edge" / "tls"
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(tls / "ca.crt"), str(tls / "server.crt")],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    san = subprocess.run(
        ["openssl", "x509", "-in", str(tls / "server.crt"), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
    ).stdout
    assert "IP Address:192.168.1.50" in san
    assert owner_only(tls / "server.key") and owner_only(tls / "ca.key")


def test_the_brokers_ca_can_be_added_later(installed: Path, tmp_path: Path) -> None:
    copy = tmp_path / "secrets"
    shutil.copytree(installed, copy)
    assert (copy / "pi" / "mqtt_ca.crt").read_text() == ""  # a placeholder while MQTT_TLS=false
    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    init(copy, "pi", "--keys-with", "local", "--mqtt-ca-file", str(ca))
    assert (copy / "pi" / "mqtt_ca.crt").read_text() == ca.read_text()

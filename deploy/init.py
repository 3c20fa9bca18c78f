#!/usr/bin/env python3
"""Secrets for a new installation, written as files that compose mounts as `secrets:`.

    python3 deploy/init.py edge [--tls-host jetson.local]   # on the Jetson
    python3 deploy/init.py pi --mqtt-password-file api.password [--mqtt-ca-file ca.crt]   # on the Pi

edge: one random MQTT password per service, the Mosquitto password file made from them with
`mosquitto_passwd` (the local binary, else the official image through docker), and optionally a
small CA plus a server certificate for the TLS listener.
pi: MariaDB passwords, the database URL, the key passphrase, the blind-index and audit keys, and the RSA
key pair file made by `python -m services.api keys init` (in the api image through docker, or `--keys-with
local` with this checkout's Python).

Standard library only: it runs on a bare host. Existing files are kept (a re-run fills in what is
missing), so running it twice never replaces a password that a service already uses; --force does.
Every file is owner-only; run as root, it hands them to --uid (the containers' user).
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MQTT_USERS = ("capture", "detector", "ocr", "aggregator", "api", "healthcheck")
MOSQUITTO_IMAGE = "eclipse-mosquitto:2"
DB_USER = "anpr"
DB_NAME = "anpr"
RSA_KEY_FILE = "api_rsa_key.pem"


def random_secret(nbytes: int = 32) -> str:
    """URL-safe, no padding: survives .env files, URLs and shells unquoted."""
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).decode().rstrip("=")


class Installer:
    def __init__(self, root: Path, uid: int | None, force: bool) -> None:
        self.root = root
        self.uid = uid
        self.force = force
        self.created: list[Path] = []
        self.kept: list[Path] = []

    def prepare(self, sub: str) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        # Keep the whole tree out of git without touching the repository's .gitignore.
        ignore = self.root / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# generated secrets: never commit\n*\n")
        folder = self.root / sub
        folder.mkdir(mode=0o700, exist_ok=True)
        self._own(folder, 0o700)
        return folder

    def secret(self, path: Path, make: Callable[[], str]) -> str:
        """The file's value; `make()` writes it first when it is missing or empty (or --force)."""
        if path.exists() and path.stat().st_size > 0 and not self.force:
            self.kept.append(path)
            return path.read_text().strip()
        value = make()
        self.write(path, value + "\n")
        return value

    def write(self, path: Path, text: str | bytes) -> None:
        data = text.encode() if isinstance(text, str) else text
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        self._own(path, 0o600)
        self.created.append(path)

    def _own(self, path: Path, mode: int) -> None:
        os.chmod(path, mode)
        if self.uid is not None and os.geteuid() == 0:
            os.chown(path, self.uid, self.uid)


# -- edge ------------------------------------------------------------------------------------------------
def mosquitto_password_file(passwords: dict[str, str], out: Path) -> bytes:
    """Hash the passwords with mosquitto_passwd, locally or in the official image."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "passwd"
        plain.write_text("".join(f"{user}:{pw}\n" for user, pw in passwords.items()))
        os.chmod(plain, 0o600)
        if shutil.which("mosquitto_passwd"):
            cmd = ["mosquitto_passwd", "-U", str(plain)]
        elif shutil.which("docker"):
            os.chmod(tmp, 0o755)
            os.chmod(plain, 0o666)  # the image's tool may not run as this user
            cmd = [
                "docker",
                "run",
                "--rm",
                "-v",
                f"{tmp}:/work",
                MOSQUITTO_IMAGE,
                "mosquitto_passwd",
                "-U",
                "/work/passwd",
            ]
        else:
            raise SystemExit(
                "init: need `mosquitto_passwd` (apt install mosquitto) or docker to hash passwords"
            )
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        hashed = plain.read_bytes()
    if any(pw.encode() in hashed for pw in passwords.values()):
        raise SystemExit("init: mosquitto_passwd left a plain password in the file; refusing to write it")
    return hashed


def make_tls(inst: Installer, folder: Path, host: str, days: int) -> None:
    """A private CA and a server certificate for `host` (a name or an IP address) with openssl."""
    if not shutil.which("openssl"):
        raise SystemExit("init: --tls-host needs openssl")
    tls = folder / "tls"
    tls.mkdir(mode=0o700, exist_ok=True)
    inst._own(tls, 0o700)
    if (tls / "server.crt").exists() and not inst.force:
        inst.kept.append(tls / "server.crt")
        return
    is_ip = all(part.isdigit() for part in host.split(".")) or ":" in host
    san = f"IP:{host}" if is_ip else f"DNS:{host}"

    def run(*args: str) -> None:
        subprocess.run(
            ["openssl", *args], check=True, cwd=tls, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:3072",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        str(days),
        "-subj",
        "/CN=ANPR edge broker CA",
    )
    run(
        "req",
        "-newkey",
        "rsa:3072",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        f"/CN={host}",
    )
    ext = tls / "server.ext"
    ext.write_text(f"subjectAltName={san},DNS:mosquitto,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        str(days),
        "-extfile",
        "server.ext",
    )
    for name in ("server.csr", "server.ext", "ca.srl"):
        (tls / name).unlink(missing_ok=True)
    for name in ("ca.key", "server.key", "ca.crt", "server.crt"):
        inst._own(tls / name, 0o600)
        inst.created.append(tls / name)


def init_edge(args: argparse.Namespace, inst: Installer) -> None:
    folder = inst.prepare("edge")
    passwords = {user: inst.secret(folder / f"mqtt_{user}_password", random_secret) for user in MQTT_USERS}
    passwd = folder / "mosquitto_passwd"
    if inst.force or not passwd.exists() or any(p in inst.created for p in folder.glob("mqtt_*_password")):
        inst.write(passwd, mosquitto_password_file(passwords, passwd))
    if args.tls_host:
        make_tls(inst, folder, args.tls_host, args.tls_days)
    print(f"edge secrets in {folder}")
    print(f"copy {folder / 'mqtt_api_password'} to the Pi (init.py pi --mqtt-password-file ...)")
    if args.tls_host:
        print(f"and {folder / 'tls' / 'ca.crt'} (--mqtt-ca-file); enable docker/mosquitto/conf.d/tls.conf")


# -- pi ----------------------------------------------------------------------------------------------------
def run_keys_init(folder: Path, how: str, image: str) -> None:
    """`python -m services.api keys init` with the generated passphrase; the key file lands in `folder`."""
    if how == "local":
        env = {
            **os.environ,
            "API_PRIVATE_KEY_FILE": str(folder / RSA_KEY_FILE),
            "API_KEY_PASSPHRASE": (folder / "api_key_passphrase").read_text().strip(),
            "API_BLIND_INDEX_KEY": (folder / "api_blind_index_key").read_text().strip(),
            "API_AUDIT_KEY": (folder / "api_audit_key").read_text().strip(),
            "ANPR_ENV_FILE": "/nonexistent/.env",
        }
        cmd = [sys.executable, "-m", "services.api", "keys", "init"]
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    else:
        # The folder is mounted as /run/secrets, where the settings read api_key_passphrase and
        # api_blind_index_key (and api_audit_key) by name; the key file is written beside them as this user.
        cmd = [
            "docker",
            "run",
            "--rm",
            "--network",
            "none",
            "--user",
            f"{os.getuid()}:{os.getgid()}",
            "-v",
            f"{folder}:/run/secrets",
            "-e",
            f"API_PRIVATE_KEY_FILE=/run/secrets/{RSA_KEY_FILE}",
            image,
            "keys",
            "init",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"init: keys init failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    # Its other lines offer secrets this installation already has as files.
    print(next((line for line in proc.stdout.splitlines() if line.startswith("wrote")), proc.stdout.strip()))


def init_pi(args: argparse.Namespace, inst: Installer) -> None:
    folder = inst.prepare("pi")
    inst.secret(folder / "mariadb_root_password", random_secret)
    db_pw = inst.secret(folder / "mariadb_password", random_secret)
    inst.secret(
        folder / "api_database_url", lambda: f"mysql+aiomysql://{DB_USER}:{db_pw}@mariadb:3306/{DB_NAME}"
    )
    inst.secret(folder / "api_key_passphrase", lambda: random_secret(24))
    inst.secret(folder / "api_blind_index_key", random_secret)
    inst.secret(folder / "api_audit_key", random_secret)
    if args.mqtt_password_file:
        inst.secret(folder / "mqtt_password", lambda: Path(args.mqtt_password_file).read_text().strip())
    elif not (folder / "mqtt_password").exists():
        print(f"note: {folder / 'mqtt_password'} is missing: copy the edge's mqtt_api_password there")
    if args.mqtt_ca_file:
        inst.secret(folder / "mqtt_ca.crt", lambda: Path(args.mqtt_ca_file).read_text().strip())
    if not (folder / "mqtt_ca.crt").exists():
        inst.write(folder / "mqtt_ca.crt", "")  # compose needs the file; empty while MQTT_TLS=false
    key = folder / RSA_KEY_FILE
    if key.exists() and not inst.force:
        inst.kept.append(key)
    else:
        key.unlink(missing_ok=True)
        run_keys_init(folder, args.keys_with, args.api_image)
        inst._own(key, 0o600)
        inst.created.append(key)
    print(f"pi secrets in {folder}; back up api_rsa_key.pem, api_key_passphrase, api_blind_index_key and")
    print("api_audit_key together, away from the Pi: without them the stored plates cannot be read (and the")
    print("audit log cannot be verified).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the secrets of a new installation.")
    parser.add_argument(
        "--dir", type=Path, default=REPO / "secrets", help="where secrets go (default: ./secrets)"
    )
    parser.add_argument("--uid", type=int, default=1000, help="owner when run as root (the images' user)")
    parser.add_argument(
        "--force", action="store_true", help="replace existing secrets (breaks what uses them)"
    )
    sub = parser.add_subparsers(dest="host", required=True)
    edge = sub.add_parser("edge", help="the Jetson: MQTT users and the Mosquitto password file")
    edge.add_argument("--tls-host", help="also make a CA and a server certificate for this name or address")
    edge.add_argument("--tls-days", type=int, default=3650)
    pi = sub.add_parser("pi", help="the Raspberry Pi: database, key pair and keys")
    pi.add_argument("--mqtt-password-file", help="the edge's mqtt_api_password")
    pi.add_argument("--mqtt-ca-file", help="the edge's tls/ca.crt, when the broker uses TLS")
    pi.add_argument(
        "--keys-with",
        choices=("docker", "local"),
        default="docker",
        help="run `keys init` in the api image (default) or with this checkout's Python",
    )
    pi.add_argument(
        "--api-image", default="anpr/api:local", help="the built api image (docker compose build)"
    )
    args = parser.parse_args(argv)
    inst = Installer(args.dir.resolve(), args.uid, args.force)
    (init_edge if args.host == "edge" else init_pi)(args, inst)
    if inst.kept:
        print(f"kept {len(inst.kept)} existing file(s); --force replaces them")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The records service as it runs on the Pi: `python -m services.api serve` in a subprocess on a free
port (real uvicorn, real sockets, its own MariaDB database), its log captured in a file."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest

from services.api.auth import NewClient
from services.api.runtime import Runtime
from tests.api.conftest import PASSPHRASE, TEST_SCRYPT_N, KeyMaterial, make_settings, own_database

REPO = Path(__file__).resolve().parents[3]
DEVICE_TOKEN = "device-token-for-tests-0123456789"
REQUEST_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 8
MAX_PER_ADDRESS = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    base_url: str
    port: int
    log: Path
    db_url: str
    keys: KeyMaterial
    proc: subprocess.Popen

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def new_client(self, name: str | None = None) -> NewClient:
        async def create() -> NewClient:
            rt = Runtime(make_settings(self.db_url, self.keys))
            try:
                await rt.open_database()
                await rt.open_keys()
                return await rt.client_admin().create(name or f"c{uuid.uuid4().hex[:10]}")
            finally:
                await rt.engine.dispose()

        return asyncio.run(create())

    def session(self, client: NewClient | None = None) -> dict[str, str]:
        client = client or self.new_client()
        body = {"token": client.token, "code": pyotp.TOTP(client.totp_secret).now()}
        resp = httpx.post(f"{self.base_url}/api/v1/auth/login", json=body, verify=False)
        assert resp.status_code == 200, resp.text
        return {"Authorization": f"Bearer {resp.json()['session_token']}"}


def start(tmp: Path, db_url: str, keys: KeyMaterial, **env: str) -> Served:
    port = free_port()
    tls = "API_TLS_CERTFILE" in env
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "ANPR_", "MQTT_"))} | {
        "PYTHONPATH": str(REPO),
        "ANPR_ENV_FILE": str(tmp / "absent.env"),
        "ANPR_ENVIRONMENT": "development",
        "ANPR_TIMEZONE": "America/Chicago",
        "API_DATABASE_URL": db_url,
        "API_PRIVATE_KEY_FILE": str(keys.key_file),
        "API_KEY_PASSPHRASE": PASSPHRASE,
        "API_KEY_SCRYPT_N": str(TEST_SCRYPT_N),
        "API_BLIND_INDEX_KEY": keys.index_key_b64,
        "API_DEVICE_TOKEN": DEVICE_TOKEN,
        "API_MQTT_INGEST": "false",
        "API_DOCS": "true",
        "API_PORT": str(port),
        "API_REQUEST_TIMEOUT_S": str(REQUEST_TIMEOUT_S),
        "API_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "API_MAX_CONNECTIONS_PER_ADDRESS": str(MAX_PER_ADDRESS),
        **env,
    }
    log = tmp / f"api-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.api", "serve"], cwd=tmp, env=environ, stdout=out, stderr=out
        )
    base = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    served = Served(base, port, log, db_url, keys, proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the API exited with {proc.returncode}:\n{served.log_text()}")
        try:
            if httpx.get(f"{base}/readyz", verify=False, timeout=2).status_code == 200:
                return served
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(served)
    pytest.fail(f"the API did not become ready:\n{served.log_text()}")


def stop(served: Served) -> None:
    served.proc.terminate()
    try:
        served.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.proc.kill()
        served.proc.wait()


@pytest.fixture(scope="session")
def served_database(mariadb_url: str) -> Iterator[str]:
    with own_database(mariadb_url, "anpr_served") as url:
        yield url


@pytest.fixture(scope="session")
def served(
    tmp_path_factory: pytest.TempPathFactory, served_database: str, key_material: KeyMaterial
) -> Iterator[Served]:
    running = start(tmp_path_factory.mktemp("served"), served_database, key_material)
    try:
        yield running
    finally:
        stop(running)

"""The README's records-service commands, pasted in order into a fresh folder, work as written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_keys_init_then_clients_create_then_serve(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "ANPR_"))}
    env |= {
        "PYTHONPATH": str(REPO),
        "ANPR_ENVIRONMENT": "development",
        "API_KEY_PASSPHRASE": "a long local passphrase",
        "API_KEY_SCRYPT_N": str(2**10),  # quick for a test; the default is the strong one
    }

    def api(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.api", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    init = api("keys", "init")
    assert init.returncode == 0, init.stderr
    dotenv = tmp_path / ".env"
    assert {line.split("=")[0] for line in dotenv.read_text().splitlines()} == {
        "API_BLIND_INDEX_KEY",
        "API_AUDIT_KEY",
        "API_DEVICE_TOKEN",
    }
    assert dotenv.stat().st_mode & 0o777 == 0o600
    assert "API_BLIND_INDEX_KEY=" not in init.stdout  # kept in the file, not shown

    create = api("clients", "create", "owner", "--no-qr")
    assert create.returncode == 0, create.stderr
    assert "API token (shown once" in create.stdout

    port = _free_port()
    env |= {"API_PORT": str(port), "API_MQTT_INGEST": "false"}  # this test's own port; no broker session
    server = subprocess.Popen(
        [sys.executable, "-m", "services.api"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/app/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the API did not start"
                time.sleep(0.5)
        assert r.status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)

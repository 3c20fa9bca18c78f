"""Memory of the records service process: resident size after start-up, and its peak after the web
app's queries (each view's request, a month's CSV exports, a year's statistics).

    python -m benchmarks.api_rss [--url mysql+aiomysql://root@127.0.0.1:3306/test] [--events 2000]

Starts `python -m services.api` as the Pi runs it (MariaDB, HTTP ingest on, MQTT off) on a scratch
database, ingests events over HTTP, logs in with a TOTP code, and reads VmRSS / VmHWM from
/proc/<pid>/status. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pymysql
import pyotp
from sqlalchemy.engine import make_url

from benchmarks.records_bench import PASSPHRASE, plates, year_of_events
from services.api import keyfile

DEVICE_TOKEN = "rss-benchmark-device-token-0123456789"


def status_kib(pid: int) -> dict[str, int]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: int(v) for k, v in re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.M)}


@contextmanager
def scratch_database(url: str):  # noqa: ANN201 - a context manager of the database URL
    u = make_url(url)
    conn = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "")
    name = f"anpr_rss_{uuid.uuid4().hex[:10]}"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield u.set(database=name).render_as_string(hide_password=False)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("TEST_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306/test")
    )
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.url) as db_url:
        key_file = Path(tmp) / "api-rsa.pem"
        keyfile.write(key_file, keyfile.generate(3072), PASSPHRASE, 2**10)
        port = free_port()
        env = os.environ | {
            "ANPR_ENVIRONMENT": "development",
            "ANPR_ENV_FILE": str(Path(tmp) / "none.env"),
            "API_DATABASE_URL": db_url,
            "API_PRIVATE_KEY_FILE": str(key_file),
            "API_KEY_PASSPHRASE": PASSPHRASE,
            "API_KEY_SCRYPT_N": str(2**10),
            "API_BLIND_INDEX_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "API_DEVICE_TOKEN": DEVICE_TOKEN,
            "API_MQTT_INGEST": "false",
            "API_PORT": str(port),
        }
        created = subprocess.run(
            [sys.executable, "-m", "services.api", "clients", "create", "rss"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        token = re.findall(r"(anpr_\S+)", created)[0]
        secret = re.findall(r"secret=([A-Z2-7]+)", created)[0]
        server = subprocess.Popen([sys.executable, "-m", "services.api"], env=env, stderr=subprocess.DEVNULL)
        try:
            measure(server.pid, f"http://127.0.0.1:{port}", token, secret, args.events)
        finally:
            server.terminate()
            server.wait(timeout=30)


def measure(pid: int, base: str, token: str, secret: str, n: int) -> None:
    with httpx.Client(base_url=base, timeout=120) as http:
        for _ in range(600):
            try:
                if http.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        started = status_kib(pid)
        now = datetime.now(timezone.utc)
        rng = random.Random(5)
        headers = {"X-Device-Token": DEVICE_TOKEN, "Content-Type": "application/json"}
        for e in year_of_events(n, plates(max(n // 40, 10), rng), now, rng):
            assert (
                http.post("/api/v1/ingest", content=e.model_dump_json(), headers=headers).status_code == 201
            )
        login = http.post("/api/v1/auth/login", json={"token": token, "code": pyotp.TOTP(secret).now()})
        auth = {"Authorization": f"Bearer {login.json()['session_token']}"}
        month, year = (now - timedelta(days=30)).isoformat(), (now - timedelta(days=364)).isoformat()
        views: list[tuple[str, dict[str, str | int]]] = [
            ("/app/", {}),
            ("/api/v1/events", {"limit": 50}),
            ("/api/v1/visits", {"since": month}),
            ("/api/v1/occupancy", {}),
            ("/api/v1/stats", {"interval": "hour", "since": year}),
            ("/api/v1/stats", {"interval": "day", "since": year}),
            ("/api/v1/export/events.csv", {"since": month}),
            ("/api/v1/export/visits.csv", {"since": month}),
        ]
        for path, params in views:
            assert http.get(path, params=params, headers=auth).status_code == 200, path
        after = status_kib(pid)
    print(f"records service, {n} events ingested over HTTP, then the web app's queries")
    print(f"after start-up: VmRSS {started['VmRSS'] / 1024:.1f} MiB")
    print(
        f"after queries:  VmRSS {after['VmRSS'] / 1024:.1f} MiB, peak (VmHWM) {after['VmHWM'] / 1024:.1f} MiB"
    )


if __name__ == "__main__":
    main()

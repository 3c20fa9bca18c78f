"""Records service benchmark: ingest events/s and authenticated query requests/s against MariaDB,
with encryption on and with it off, so the cost of encryption is a measured ratio.

    python benchmarks/api_bench.py [--url mysql+aiomysql://root@127.0.0.1:3306/test] [--events 500]

Requests go through the real app (HTTP ingest with the device token, login with a TOTP code, then
Bearer-authenticated queries) over httpx's in-process ASGI transport, so HTTP parsing and
validation are included but no network. Each mode gets a scratch database, dropped at the end.
"Encryption off" is the service's API_BENCHMARK_PLAINTEXT mode, refused outside development.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pymysql
import pyotp
from sqlalchemy.engine import make_url

from anpr.messages import Candidate, EventMessage, EventType, VehicleClass
from anpr.plates import normalize
from anpr.settings import CommonSettings, MqttSettings
from services.api import keyfile
from services.api.app import create_app
from services.api.runtime import Runtime
from services.api.settings import ApiSettings

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ANPR_SHARED_DATA", REPO.parent / "shared" / "data"))
PASSPHRASE = "benchmark passphrase, not a secret"
DEVICE_TOKEN = "benchmark-device-token-0123456789"


def real_samples() -> list[tuple[str, bytes]]:
    """(plate, JPEG <= 64 kB) pairs from openalpr's US benchmark set, or synthetic ones if it is missing."""
    folder = DATA / "openalpr_benchmarks" / "us"
    out = []
    for txt in sorted(folder.glob("*.txt")):
        plate = normalize(txt.read_text().split("\t")[5])
        jpg = txt.with_suffix(".jpg")
        # The edge sends one small vehicle snapshot per event; leave out the large full frames.
        if 1 <= len(plate) <= 12 and jpg.is_file() and jpg.stat().st_size <= 64_000:
            out.append((plate, txt.with_suffix(".jpg").read_bytes()))
    if not out:
        print(f"(no shared data at {folder}: synthetic plates and 20 kB snapshots)")
        out = [(f"BNC{i:04d}", os.urandom(20_000)) for i in range(100)]
    return out


def make_events(n: int, samples: list[tuple[str, bytes]]) -> list[EventMessage]:
    rng = random.Random(7)
    t0 = datetime.now(timezone.utc) - timedelta(hours=n / 60)
    events = []
    for i in range(n):
        plate, jpeg = samples[i % len(samples)]
        t = t0 + timedelta(minutes=i)
        events.append(
            EventMessage(
                type=EventType.ENTRY if (i // len(samples)) % 2 == 0 else EventType.EXIT,
                plate=plate,
                confidence=round(rng.uniform(0.6, 0.99), 3),
                camera="gate-1",
                time=t,
                first_seen=t - timedelta(seconds=2),
                last_seen=t,
                vehicle_class=VehicleClass.CAR,
                read_count=rng.randint(2, 12),
                candidates=(Candidate(text=plate, confidence=0.9),),
                snapshot_jpeg=jpeg,
            )
        )
    return events


def admin(url: str) -> pymysql.connections.Connection:
    u = make_url(url)
    return pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "")


async def run_mode(
    url: str, encrypted: bool, events: list[EventMessage], queries: int, keys_dir: Path
) -> tuple[float, float]:
    name = f"anpr_api_bench_{uuid.uuid4().hex[:10]}"
    conn = admin(url)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    try:
        settings = ApiSettings(
            database_url=make_url(url).set(database=name).render_as_string(hide_password=False),
            private_key_file=keys_dir / "api-rsa.pem",
            key_passphrase=PASSPHRASE,
            key_scrypt_n=2**10,
            blind_index_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            device_token=DEVICE_TOKEN,
            mqtt_ingest=False,
            benchmark_plaintext=not encrypted,
            common=CommonSettings(environment="development"),
            mqtt=MqttSettings(),
        )
        runtime = Runtime(settings)
        app = create_app(settings, runtime)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                return await _measure(http, runtime, events, queries)
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


async def _measure(
    http: httpx.AsyncClient, runtime: Runtime, events: list[EventMessage], queries: int
) -> tuple[float, float]:
    headers = {"X-Device-Token": DEVICE_TOKEN, "Content-Type": "application/json"}
    bodies = [e.model_dump_json() for e in events]
    start = time.perf_counter()
    for body in bodies:
        resp = await http.post("/api/v1/ingest", content=body, headers=headers)
        assert resp.status_code == 201, resp.text
    ingest_rate = len(bodies) / (time.perf_counter() - start)

    client = await runtime.client_admin().create("bench")
    code = pyotp.TOTP(client.totp_secret).now()
    login = await http.post("/api/v1/auth/login", json={"token": client.token, "code": code})
    assert login.status_code == 200, login.text
    auth = {"Authorization": f"Bearer {login.json()['session_token']}"}
    plates = sorted({e.plate for e in events})
    rng = random.Random(11)
    requests = []
    for i in range(queries):  # a mix a web app makes: latest page, exact plate, tolerant plate, visits
        kind = i % 4
        if kind == 0:
            requests.append(("/api/v1/events", {"limit": 50}))
        elif kind == 1:
            requests.append(("/api/v1/events", {"plate": rng.choice(plates)}))
        elif kind == 2:
            requests.append(("/api/v1/events", {"plate": rng.choice(plates), "tolerant": "true"}))
        else:
            requests.append(("/api/v1/visits", {"plate": rng.choice(plates)}))
    start = time.perf_counter()
    for path, params in requests:
        resp = await http.get(path, params=params, headers=auth)
        assert resp.status_code == 200, resp.text
    query_rate = len(requests) / (time.perf_counter() - start)
    return ingest_rate, query_rate


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("TEST_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306/test")
    )
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    events = make_events(args.events, real_samples())
    with tempfile.TemporaryDirectory() as tmp:
        keys_dir = Path(tmp)
        keyfile.write(keys_dir / "api-rsa.pem", keyfile.generate(3072), PASSPHRASE, 2**10)
        results = {}
        for encrypted in (True, False):
            results[encrypted] = await run_mode(args.url, encrypted, events, args.queries, keys_dir)
    snap = sum(len(e.snapshot_jpeg or b"") for e in events) / len(events)
    print(
        f"\nMariaDB {make_url(args.url).host}, {args.events} events (mean snapshot {snap / 1000:.1f} kB), {args.queries} queries"
    )
    print(f"{'':24}{'ingest events/s':>18}{'queries/s':>14}")
    for encrypted, (ingest, query) in results.items():
        print(f"{'encryption on' if encrypted else 'encryption off':24}{ingest:18.1f}{query:14.1f}")
    (on_i, on_q), (off_i, off_q) = results[True], results[False]
    print(f"{'on / off':24}{on_i / off_i:18.2f}{on_q / off_q:14.2f}")


if __name__ == "__main__":
    asyncio.run(main())

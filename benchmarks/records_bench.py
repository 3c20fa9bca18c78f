"""Records service at a year's scale: fill MariaDB with a year of a busy lot through the service's own
storage path (EventStore.ingest_many, one transaction per burst: sealed plate, blind index, pairing,
roll-ups), then time each owner query, visits and revenue billed by a year-long tariff, through the
real app (login with a TOTP code, Bearer requests over httpx's in-process ASGI transport: routing,
validation and JSON included, no network).

    python -m benchmarks.records_bench [--events 198000] [--plates 5000] [--tries 21] [--burst 1000]
                                       [--plaintext] [--keep DIR]

Prints the fill rate (events/s, encryption on; with --plaintext also off) and, per query, the median
and 95th percentile in ms. The scratch database is dropped at the end, unless --keep DIR: then it and
its keys stay (named in DIR), and a later run with the same DIR queries it again without refilling.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import math
import os
import random
import statistics
import string
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path

import httpx
import pymysql
import pyotp
from sqlalchemy.engine import make_url

from anpr.messages import Candidate, EventMessage, EventType, VehicleClass
from anpr.settings import CommonSettings, MqttSettings
from services.api import keyfile
from services.api.app import create_app
from services.api.db import utc_naive
from services.api.fee_schemas import NightRate, RateRules, TariffRules
from services.api.models import TariffVersion
from services.api.runtime import Runtime
from services.api.settings import ApiSettings

PASSPHRASE = "benchmark passphrase, not a secret"
YEAR = timedelta(days=365)
SNAPSHOT = os.urandom(2_000)  # small on purpose: snapshots are never read by these queries


def plates(n: int, rng: random.Random) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choices(string.ascii_uppercase, k=3)) + f"{rng.randrange(10_000):04d}")
    return sorted(out)


def year_of_events(n: int, pool: list[str], now: datetime, rng: random.Random) -> list[EventMessage]:
    """~n/2 visits spread over the year; plates drawn Zipf-like (regulars and one-off visitors); stays
    log-normal around two hours; 1% of entries and 1% of exits missed. Time-ordered, as they arrive."""
    # Accumulated once: `choices(pool, weights)` would re-add 5,000 weights per draw (same draws).
    cum_weights = list(itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(pool))))
    out = []
    for _ in range(n // 2):
        plate = rng.choices(pool, cum_weights=cum_weights)[0]
        entry = now - YEAR + timedelta(seconds=rng.uniform(0, YEAR.total_seconds()))
        stay = timedelta(seconds=min(math.exp(rng.gauss(math.log(7200), 1.0)), 5 * 86400))
        for kind, at in ((EventType.ENTRY, entry), (EventType.EXIT, entry + stay)):
            if rng.random() < 0.01 or at >= now:
                continue
            out.append(
                EventMessage(
                    type=kind,
                    plate=plate,
                    confidence=round(rng.uniform(0.6, 0.99), 3),
                    camera="gate-in" if kind is EventType.ENTRY else "gate-out",
                    time=at,
                    first_seen=at - timedelta(seconds=2),
                    last_seen=at,
                    vehicle_class=VehicleClass.CAR,
                    read_count=rng.randint(2, 12),
                    candidates=(Candidate(text=plate, confidence=0.9),),
                    snapshot_jpeg=SNAPSHOT,
                )
            )
    return sorted(out, key=lambda e: e.time)


def misread(plate: str, rng: random.Random) -> str:
    i = rng.randrange(len(plate))
    other = rng.choice([c for c in string.ascii_uppercase + string.digits if c != plate[i]])
    return plate[:i] + other + plate[i + 1 :]


def settings_for(url: str, keys_dir: Path, encrypted: bool) -> ApiSettings:
    index_key = keys_dir / "blind-index-key"
    if not index_key.exists():
        index_key.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode())
    return ApiSettings(
        database_url=url,
        private_key_file=keys_dir / "api-rsa.pem",
        key_passphrase=PASSPHRASE,
        key_scrypt_n=2**10,
        blind_index_key=index_key.read_text(),
        mqtt_ingest=False,
        benchmark_plaintext=not encrypted,
        page_max=500,
        common=CommonSettings(environment="development"),
        mqtt=MqttSettings(),
    )


async def fill(runtime: Runtime, events: list[EventMessage], burst: int) -> float:
    """Through EventStore.ingest_many, `burst` events per transaction (burst 1: one by one)."""
    start = time.perf_counter()
    for i in range(0, len(events), burst):
        assert await runtime.store.ingest_many(events[i : i + burst]) == len(events[i : i + burst])
    return len(events) / (time.perf_counter() - start)


async def tariff_for_the_year(runtime: Runtime) -> None:
    """A tariff in effect all year, so every visit is charged (night window, daily cap: the fee
    engine's dearest path). Written as a row: the API refuses a version that takes effect in the past."""
    rules = TariffRules(
        currency="EUR",
        standard=RateRules(
            grace_minutes=10,
            period_price=250,
            daily_cap=2_000,
            night=NightRate(start=dtime(20), end=dtime(7), price=500),
        ),
        member=RateRules(period_price=100),
    )
    since = utc_naive(runtime.clock() - YEAR - timedelta(days=2))
    async with runtime.sf() as s:
        s.add(
            TariffVersion(
                effective_from=since, rules=rules.model_dump_json(), created_by="bench", created_at=since
            )
        )
        await s.commit()


def owner_queries(now: datetime, pool: list[str], rng: random.Random) -> dict[str, Callable[[], tuple]]:
    month = (now - timedelta(days=30)).isoformat()
    year = (now - YEAR + timedelta(hours=1)).isoformat()
    regular = pool[:50]  # the plates seen most: the slowest exact and tolerant searches
    return {
        "latest events page": lambda: ("/api/v1/events", {"limit": 50}),
        "search exact plate": lambda: ("/api/v1/events", {"plate": rng.choice(regular)}),
        "search one misread": lambda: (
            "/api/v1/events",
            {"plate": misread(rng.choice(regular), rng), "tolerant": "true"},
        ),
        "visits of a month, first page": lambda: ("/api/v1/visits", {"since": month, "limit": 50}),
        "revenue per day, a month": lambda: ("/api/v1/revenue", {"interval": "day", "since": month}),
        "revenue per day, a year": lambda: ("/api/v1/revenue", {"interval": "day", "since": year}),
        "inside now": lambda: ("/api/v1/occupancy", {}),
        "stats per hour, a month": lambda: ("/api/v1/stats", {"interval": "hour", "since": month}),
        "stats per hour, a year": lambda: ("/api/v1/stats", {"interval": "hour", "since": year}),
        "stats per day, a year": lambda: ("/api/v1/stats", {"interval": "day", "since": year}),
        "CSV events, a month": lambda: ("/api/v1/export/events.csv", {"since": month}),
        "CSV visits, a month": lambda: ("/api/v1/export/visits.csv", {"since": month}),
        "one vehicle's visits, a year": lambda: (
            "/api/v1/visits",
            {"plate": rng.choice(regular), "since": year},
        ),
    }


async def measure(http: httpx.AsyncClient, auth: dict, query: Callable[[], tuple], tries: int) -> list[float]:
    times = []
    for _ in range(tries):
        path, params = query()
        start = time.perf_counter()
        async with http.stream("GET", path, params=params, headers=auth) as resp:
            async for _chunk in resp.aiter_bytes():  # to the last byte
                pass
        times.append((time.perf_counter() - start) * 1000)
        assert resp.status_code == 200, (path, resp.status_code)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


async def run(url: str, keys_dir: Path, pool: list[str], args, keep: bool) -> None:  # noqa: ANN001
    admin_url = make_url(url)
    conn = pymysql.connect(
        host=admin_url.host,
        port=admin_url.port or 3306,
        user=admin_url.username,
        password=admin_url.password or "",
    )
    kept = keys_dir / "database"
    rates: dict[bool, float] = {}
    for encrypted in (True, False) if args.plaintext else (True,):
        refill = not (encrypted and keep and kept.exists())
        name = kept.read_text() if not refill else f"anpr_records_bench_{uuid.uuid4().hex[:10]}"
        if refill:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        try:
            db_url = admin_url.set(database=name).render_as_string(hide_password=False)
            settings = settings_for(db_url, keys_dir, encrypted)
            runtime = Runtime(settings)
            app = create_app(settings, runtime)
            async with app.router.lifespan_context(app):
                if refill:
                    events = year_of_events(args.events, pool, datetime.now(timezone.utc), args.rng)
                    print(f"{len(events)} events, {len({e.plate for e in events})} plates, a year")
                    await tariff_for_the_year(runtime)
                    rates[encrypted] = await fill(runtime, events, args.burst)
                    print(f"fill, encryption {'on' if encrypted else 'off'}: {rates[encrypted]:.0f} events/s")
                    if encrypted and keep:
                        kept.write_text(name)
                else:
                    print(f"kept database {name} ({keys_dir}), filled earlier")
                if encrypted:
                    await query_table(app, runtime, pool, args.tries)
        finally:
            if not (encrypted and keep):
                with conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


async def query_table(app, runtime: Runtime, pool: list[str], tries: int) -> None:  # noqa: ANN001
    client = await runtime.client_admin().create(f"bench-{uuid.uuid4().hex[:8]}")  # one per run: --keep
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as http:
        code = pyotp.TOTP(client.totp_secret).now()
        login = await http.post("/api/v1/auth/login", json={"token": client.token, "code": code})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['session_token']}"}
        rng = random.Random(11)
        print(f"\n{'query':34}{'median ms':>11}{'p95 ms':>9}   ({tries} tries each)")
        for label, query in owner_queries(runtime.clock(), pool, rng).items():
            times = await measure(http, auth, query, tries)
            print(f"{label:34}{statistics.median(times):11.1f}{p95(times):9.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", default=os.environ.get("TEST_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306/test")
    )
    parser.add_argument("--events", type=int, default=198_000)
    parser.add_argument("--plates", type=int, default=5_000)
    parser.add_argument("--tries", type=int, default=21)
    parser.add_argument("--burst", type=int, default=1000, help="events per ingest transaction")
    parser.add_argument("--plaintext", action="store_true", help="also time the fill with encryption off")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the filled database and its keys here; reuse them if there",
    )
    args = parser.parse_args()
    args.rng = random.Random(16)  # the plates, then the events: the same year on every run
    pool = plates(args.plates, args.rng)
    print(f"MariaDB {make_url(args.url).host}")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        await _with_keys(args.keep, args, pool, keep=True)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            await _with_keys(Path(tmp), args, pool, keep=False)


async def _with_keys(keys_dir: Path, args, pool: list[str], keep: bool) -> None:  # noqa: ANN001
    if not (keys_dir / "api-rsa.pem").exists():
        keyfile.write(keys_dir / "api-rsa.pem", keyfile.generate(3072), PASSPHRASE, 2**10)
    await run(args.url, keys_dir, pool, args, keep)


if __name__ == "__main__":
    asyncio.run(main())

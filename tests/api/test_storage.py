"""Storage against the real MariaDB and SQLite: migrations, idempotent ingest, encryption at rest,
tamper detection, key rotation, blind-index search, and a dump with no plate in it."""

from __future__ import annotations

import shutil
import subprocess

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select, update

from services.api import keyfile
from services.api.crypto import TamperError
from services.api.db import make_engine, migrate
from services.api.keyfile import KeyFileError
from services.api.keyring import rotate
from services.api.models import Base, Event, EventNearIndex
from services.api.runtime import Runtime
from services.api.store import EventFilter, PlateQuery
from tests.api.conftest import PASSPHRASE, TEST_SCRYPT_N, RealPlate, event, make_settings

pytestmark = pytest.mark.anyio
TABLES = {"rsa_keys", "data_keys", "events", "event_near_index", "clients", "sessions"}


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    await engine.dispose()
    return names


async def test_migrations_from_empty_match_the_models(db_url: str) -> None:
    assert not (await _tables(db_url)) & TABLES
    engine = make_engine(db_url)
    await migrate(engine)
    assert await _tables(db_url) >= TABLES | {"alembic_version"}
    async with engine.connect() as conn:
        diff = await conn.run_sync(lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    assert diff == [], f"models and migrations differ: {diff}"
    await migrate(engine)  # a second start-up is a no-op
    await migrate(engine, "base", downgrade=True)
    assert not (await _tables(db_url)) & TABLES
    await engine.dispose()


async def test_ingest_is_idempotent_by_event_id(runtime: Runtime) -> None:
    ev = event("VLX039")
    assert await runtime.store.ingest(ev) is True
    assert await runtime.store.ingest(ev) is False
    assert await runtime.store.ingest(ev.model_copy()) is False
    async with runtime.sf() as s:
        assert await s.scalar(select(func.count()).select_from(Event)) == 1
        near = await s.scalar(select(func.count()).select_from(EventNearIndex))
    assert near == len(runtime.keys.index.near("VLX039"))


async def test_sealed_fields_round_trip(runtime: Runtime, real_plates: list[RealPlate]) -> None:
    sample = real_plates[:12]
    for rp in sample:
        await runtime.store.ingest(
            event(rp.plate, snapshot=rp.jpeg, candidates=(rp.plate, rp.plate[:-1] + "X"))
        )
    items, total = await runtime.store.search(EventFilter(), limit=100, offset=0)
    assert total == len(sample)
    by_plate = {e.plate: e for e in items}
    for rp in sample:
        got = by_plate[rp.plate]
        assert [c.text for c in got.candidates] == [rp.plate, rp.plate[:-1] + "X"]
        assert await runtime.store.snapshot(got.event_id) == rp.jpeg
    async with runtime.sf() as s:
        rows = list(await s.scalars(select(Event)))
    for row in rows:
        for blob in (row.plate_ct, row.candidates_ct, row.snapshot_ct):
            assert blob is not None and blob[0] == 0x01
        assert not any(rp.plate.encode() in row.plate_ct + row.candidates_ct for rp in sample)


async def _one(runtime: Runtime, plate: str) -> Event:
    async with runtime.sf() as s:
        return (
            await s.scalars(select(Event).where(Event.plate_index == runtime.keys.index.exact(plate)))
        ).one()


async def test_a_flipped_byte_is_detected(runtime: Runtime) -> None:
    await runtime.store.ingest(event("FA8M7S"))
    row = await _one(runtime, "FA8M7S")
    for position in (0, 3, 10, len(row.plate_ct) // 2, len(row.plate_ct) - 1):
        damaged = bytearray(row.plate_ct)
        damaged[position] ^= 0x01
        async with runtime.sf() as s, s.begin():
            await s.execute(update(Event).where(Event.id == row.id).values(plate_ct=bytes(damaged)))
        with pytest.raises(TamperError):
            await runtime.store.search(EventFilter(), limit=10, offset=0)
    async with runtime.sf() as s, s.begin():
        await s.execute(update(Event).where(Event.id == row.id).values(plate_ct=row.plate_ct))
    items, _ = await runtime.store.search(EventFilter(), limit=10, offset=0)
    assert items[0].plate == "FA8M7S"


async def test_a_ciphertext_moved_to_another_row_or_column_is_detected(runtime: Runtime) -> None:
    await runtime.store.ingest(event("VLX039"))
    await runtime.store.ingest(event("FA8M7S"))
    a, b = await _one(runtime, "VLX039"), await _one(runtime, "FA8M7S")
    async with runtime.sf() as s, s.begin():
        await s.execute(update(Event).where(Event.id == b.id).values(plate_ct=a.plate_ct))
    with pytest.raises(TamperError):  # row b now holds row a's plate: it does not open there
        await runtime.store.search(EventFilter(plate=PlateQuery("FA8M7S")), limit=10, offset=0)
    items, _ = await runtime.store.search(EventFilter(plate=PlateQuery("VLX039")), limit=10, offset=0)
    assert [e.plate for e in items] == ["VLX039"]  # the original is untouched
    async with runtime.sf() as s, s.begin():  # same row, another column
        await s.execute(update(Event).where(Event.id == b.id).values(plate_ct=b.candidates_ct))
    with pytest.raises(TamperError):
        await runtime.store.search(EventFilter(), limit=10, offset=0)


async def test_key_rotation_keeps_every_row_readable(
    db_url, key_material, clock, real_plates, tmp_path
) -> None:
    settings = make_settings(db_url, key_material)
    runtime = Runtime(settings, clock)
    await runtime.start()
    plates = [rp.plate for rp in real_plates[:20]]
    for p in plates:
        await runtime.store.ingest(event(p, candidates=(p,)))
    client = await runtime.client_admin().create("rotating")
    new = keyfile.generate(3072)
    version, count = await rotate(runtime.sf, key_material.pair, new)
    assert (version, count) == (2, 1)
    await runtime.stop()

    new_file = tmp_path / "new.pem"
    keyfile.write(new_file, new, PASSPHRASE, TEST_SCRYPT_N)
    rotated = Runtime(make_settings(db_url, key_material, private_key_file=new_file), clock)
    await rotated.start()
    items, total = await rotated.store.search(EventFilter(), limit=100, offset=0)
    assert total == len(plates) and sorted(e.plate for e in items) == sorted(plates)
    assert all(e.candidates[0].text == e.plate for e in items)
    assert rotated.keys.rsa_version == 2
    # The TOTP secret (sealed under the same data key) still opens: the client can log in.
    token, _ = await rotated.auth.login(client.token, pyotp.TOTP(client.totp_secret).at(clock()), "127.0.0.1")
    assert token
    await rotated.stop()

    with pytest.raises(KeyFileError, match="retired version 1"):
        await Runtime(settings, clock).start()


async def test_blind_index_search_exact_and_tolerant(runtime: Runtime) -> None:
    stored = ["ABC1234", "ABC1734", "XYZ9876", "K179658", "ZZZ0000"]
    for p in stored:
        await runtime.store.ingest(event(p))

    async def find(plate: str, tolerant: bool) -> set[str]:
        items, total = await runtime.store.search(EventFilter(plate=PlateQuery(plate, tolerant)), 50, 0)
        assert total == len(items)
        return {e.plate for e in items}

    assert await find("abc-1234", tolerant=False) == {"ABC1234"}
    assert await find("ABC1235", tolerant=False) == set()
    assert await find("ABC1234", tolerant=True) == {"ABC1234", "ABC1734"}  # one substitution apart
    assert await find("ABC123", tolerant=True) == {"ABC1234"}  # a character lost
    assert await find("ABC12345", tolerant=True) == {"ABC1234"}  # a character added
    assert await find("KI79G5B", tolerant=True) == {"K179658"}  # confusables (I/1, G/6, B/8) cost nothing
    assert await find("KI79G5B", tolerant=False) == set()
    assert await find("K17965", tolerant=True) == {"K179658"}
    assert await find("XYZ9800", tolerant=True) == set()  # two errors
    assert await find("BAC1234", tolerant=True) == set()  # a swap is two edits: candidate, not confirmed


@pytest.mark.parametrize("db_url", ["mariadb"], indirect=True)
async def test_a_database_dump_holds_no_plate(
    runtime: Runtime, db_url: str, real_plates: list[RealPlate]
) -> None:
    plates = [rp.plate for rp in real_plates]
    for rp in real_plates:
        await runtime.store.ingest(event(rp.plate, snapshot=rp.jpeg, candidates=(rp.plate,)))
    client = await runtime.client_admin().create("dump-check")
    async with runtime.sf() as s:
        assert await s.scalar(select(func.count()).select_from(Event)) == len(plates)
    dump_tool = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    assert dump_tool, "mariadb-dump is needed for this test"
    url = runtime.engine.url
    base = [
        dump_tool,
        "-h",
        url.host or "127.0.0.1",
        "-P",
        str(url.port or 3306),
        "-u",
        url.username or "root",
    ]
    raw, hexed = (
        subprocess.run([*base, *flags, url.database], capture_output=True, check=True).stdout
        for flags in ([], ["--hex-blob"])
    )
    assert b"INSERT INTO `events`" in raw and b"INSERT INTO `events`" in hexed
    # Digit-only plates are left out: such numbers occur by chance among ids and times.
    checked = [p for p in plates if not p.isdigit()]
    in_raw = [p for p in checked if p.encode() in raw]
    in_hex = [p for p in checked if p.encode().hex().encode() in hexed.lower()]
    assert in_raw == [] and in_hex == [], f"plates in clear in the dump: {in_raw + in_hex}"
    for secret in (client.totp_secret, client.token):
        assert secret.encode() not in raw and secret.encode().hex().encode() not in hexed.lower()

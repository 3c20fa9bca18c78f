"""The audit log's hash chain against the real databases: what is recorded, what verify catches
(an entry edited or deleted by SQL), and concurrent writers that must not fork the chain."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import select, text

from anpr.settings import CommonSettings
from services.api import audit
from services.api.models import AuditEntry
from services.api.runtime import ConfigError, Runtime, audit_secret
from services.api.settings import ApiSettings
from tests.api.conftest import Api, KeyMaterial, make_settings

pytestmark = pytest.mark.anyio


async def _verify(runtime: Runtime) -> audit.Verdict:
    return await audit.verify(runtime.sf, audit_secret(runtime.settings))


async def _sql(runtime: Runtime, statement: str) -> None:
    async with runtime.engine.begin() as conn:
        await conn.execute(text(statement))


async def _fill(runtime: Runtime, n: int) -> None:
    for i in range(n):
        await audit.append(
            runtime.sf, actor="alice", action="correction", subject=f"e{i}", after={"plate": "ABC123"}
        )


async def test_an_untouched_chain_verifies(runtime: Runtime) -> None:
    assert (await _verify(runtime)).line() == "ok 0 entries"
    await _fill(runtime, 5)
    verdict = await _verify(runtime)
    assert verdict.ok and verdict.line() == "ok 5 entries"


async def test_a_plate_in_before_or_after_is_sealed(runtime: Runtime) -> None:
    await audit.append(runtime.sf, actor="alice", action="correction", before={"plate": "VLX039"})
    async with runtime.sf() as s:
        row = await s.scalar(select(AuditEntry))
    assert row is not None and row.before_ct is not None and b"VLX039" not in row.before_ct
    items, total = await audit.page(runtime.sf, runtime.keys.cipher, runtime.tz, 10, 0)
    assert total == 1 and items[0].before == {"plate": "VLX039"} and items[0].after is None


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE audit_log SET subject = 'someone else' WHERE seq = 3",
        "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3",
        "UPDATE audit_log SET at = '2020-01-01 00:00:00' WHERE seq = 3",
        "UPDATE audit_log SET after_ct = (SELECT after_ct FROM (SELECT after_ct FROM audit_log WHERE seq = 2) AS o)"
        " WHERE seq = 3",
    ],
)
async def test_an_entry_edited_by_sql_is_named(runtime: Runtime, edit: str) -> None:
    await _fill(runtime, 5)
    await _sql(runtime, edit)
    verdict = await _verify(runtime)
    assert not verdict.ok and verdict.broken_seq == 3 and "edited" in verdict.line()
    assert verdict.line().startswith("broken at entry 3:")


async def test_an_entry_deleted_by_sql_is_named(runtime: Runtime) -> None:
    await _fill(runtime, 5)
    await _sql(runtime, "DELETE FROM audit_log WHERE seq = 2")
    verdict = await _verify(runtime)
    assert (verdict.ok, verdict.broken_seq) == (False, 2) and "deleted" in verdict.line()


async def test_the_newest_entries_deleted_by_sql_are_caught(runtime: Runtime) -> None:
    await _fill(runtime, 5)
    await _sql(runtime, "DELETE FROM audit_log WHERE seq >= 4")
    verdict = await _verify(runtime)
    assert (verdict.ok, verdict.broken_seq) == (False, 4) and "ends at entry 5" in verdict.line()


async def test_a_chain_made_under_another_key_does_not_verify(runtime: Runtime) -> None:
    await _fill(runtime, 2)
    verdict = await audit.verify(runtime.sf, b"another key entirely, 32 bytes!!")
    assert (verdict.ok, verdict.broken_seq) == (False, 1)


async def test_concurrent_writers_keep_one_chain(runtime: Runtime) -> None:
    writers, each = 8, 6

    async def writer(w: int) -> None:
        for i in range(each):
            await audit.append(runtime.sf, actor=f"w{w}", action="test", subject=str(i))

    await asyncio.gather(*(writer(w) for w in range(writers)))
    verdict = await _verify(runtime)
    assert verdict.ok and verdict.count == writers * each
    async with runtime.sf() as s:
        seqs = list(await s.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert seqs == list(range(1, writers * each + 1))


async def test_a_change_rolled_back_leaves_no_entry(runtime: Runtime) -> None:
    with pytest.raises(RuntimeError):
        async with runtime.sf() as s, s.begin():
            await audit.record(s, actor="alice", action="test")
            raise RuntimeError("the change failed")
    assert (await _verify(runtime)).line() == "ok 0 entries"


async def test_logins_client_changes_and_exports_are_recorded_and_readable(api: Api) -> None:
    client = await api.new_client("alice")
    wrong = f"{(int(api.code(client)) + 1) % 1_000_000:06d}"
    assert (await api.login(client, wrong)).status_code == 401
    unknown = await api.http.post("/api/v1/auth/login", json={"token": "anpr_" + "x" * 43, "code": wrong})
    assert unknown.status_code == 401
    headers = await api.session(client)
    csv = await api.http.get("/api/v1/export/events.csv?plate=ABC-123", headers=headers)
    assert csv.status_code == 200
    resp = await api.http.get("/api/v1/audit", headers=headers)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    got = [(e["seq"], e["actor"], e["action"], e["subject"]) for e in body["items"]]
    assert got == [
        (5, "alice", "export", "events.csv"),
        (4, "alice", "login", "alice"),
        (3, None, "login_failed", None),
        (2, None, "login_failed", "alice"),
        (1, "cli", "client_create", "alice"),
    ]
    assert "rows" not in body["items"][0]["after"]  # recorded before it streams: filters, no count
    assert body["items"][0]["after"]["plate"]["plate"] == "ABC-123"
    assert body["items"][2]["after"] == {"address": "127.0.0.1"}
    assert (await api.http.get("/api/v1/audit")).status_code == 401
    assert (await _verify(api.runtime)).line() == "ok 5 entries"


async def test_a_missing_chain_head_is_reported(runtime: Runtime) -> None:
    await _fill(runtime, 1)
    await _sql(runtime, "DELETE FROM audit_head")
    assert (
        await _verify(runtime)
    ).line() == "broken at entry 1: the chain head (audit_head row 1) is missing"


def test_the_audit_key_is_required_outside_development(settings: ApiSettings) -> None:
    production = {"common": CommonSettings(environment="production"), "key_scrypt_n": 2**15}
    with pytest.raises(ConfigError, match="API_AUDIT_KEY is not set"):
        audit_secret(settings.model_copy(update=production))
    key = os.urandom(32)
    given = settings.model_copy(update={**production, "audit_key": SecretStr(base64.b64encode(key).decode())})
    assert audit_secret(given) == key
    derived = audit_secret(settings)  # development: derived, and not the index key itself
    assert len(derived) == 32 and derived != settings.blind_index_key_bytes


def test_a_placeholder_audit_key_is_refused(db_url: str, key_material: KeyMaterial) -> None:
    with pytest.raises(ValidationError, match="API_AUDIT_KEY looks like a placeholder"):
        make_settings(
            db_url,
            key_material,
            audit_key=base64.b64encode(b"a" * 32).decode(),
            key_scrypt_n=2**15,
            common=CommonSettings(environment="production"),
        )

"""The login limiter and session answers: locks survive a spray of other failures and a restart,
one address's failures lock no other user out, and a refused session says nothing about why."""

from __future__ import annotations

import asyncio

import pytest

from services.api.auth import InvalidCredentials, RateLimited
from services.api.runtime import Runtime
from services.api.settings import ApiSettings
from tests.api.conftest import Api, Clock, make_settings

SPRAY = 10_001
pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("db_url", ["mariadb"], indirect=True)]


@pytest.fixture
def settings(db_url: str, key_material) -> ApiSettings:  # noqa: ANN001
    return make_settings(
        db_url, key_material, login_max_failures=3, login_max_failures_per_address=6, db_pool_size=16
    )


def _wrong(api: Api, client) -> str:  # noqa: ANN001
    return f"{(int(api.code(client)) + 1) % 1_000_000:06d}"


@pytest.mark.slow  # 10,001 failed logins against MariaDB: minutes on a shared CPU
async def test_a_spray_of_failed_logins_does_not_reset_a_lock(api: Api) -> None:
    client = await api.new_client()
    for _ in range(3):
        assert (await api.login(client, _wrong(api, client))).status_code == 401

    # Unknown tokens from many addresses: more failures than the old in-memory tables held keys
    # (10,000 each), 32 at a time.
    async def spray(i: int) -> None:
        with pytest.raises(InvalidCredentials):
            await api.runtime.auth.login(
                f"anpr_spray_{i}", "123456", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
            )

    for batch in range(0, SPRAY, 32):
        await asyncio.gather(*(spray(i) for i in range(batch, min(batch + 32, SPRAY))))
    assert (await api.login(client)).status_code == 429


async def test_one_address_locks_out_token_guessing_not_its_users(api: Api) -> None:
    alice, bob = await api.new_client("alice"), await api.new_client("bob")
    for i in range(6):
        resp = await api.http.post("/api/v1/auth/login", json={"token": f"anpr_guess_{i}", "code": "123456"})
        assert resp.status_code == 401
    guess = await api.http.post("/api/v1/auth/login", json={"token": "anpr_guess_x", "code": "123456"})
    assert guess.status_code == 429
    assert (await api.login(alice)).status_code == 200  # same address (NAT): still let in
    for _ in range(3):  # a wrong code still counts against bob, and locks bob alone
        assert (await api.login(bob, _wrong(api, bob))).status_code == 401
    assert (await api.login(bob)).status_code == 429
    api.clock.advance(seconds=30)
    assert (await api.login(alice)).status_code == 200


async def test_a_lock_survives_a_restart(api: Api, settings: ApiSettings, clock: Clock) -> None:
    client = await api.new_client()
    for _ in range(3):
        assert (await api.login(client, _wrong(api, client))).status_code == 401
    restarted = Runtime(settings, clock)
    await restarted.start()
    try:
        with pytest.raises(RateLimited):
            await restarted.auth.login(client.token, api.code(client), "192.0.2.7")
    finally:
        await restarted.stop()


async def test_a_refused_session_does_not_say_why(api: Api) -> None:
    client = await api.new_client("dave")
    revoked, expired, disabled = [await api.session(client) for _ in range(3)]
    assert (await api.http.post("/api/v1/auth/logout", headers=revoked)).status_code == 204
    answers = {
        "unknown": await api.http.get("/api/v1/events", headers={"Authorization": "Bearer anpr_nope"}),
        "revoked": await api.http.get("/api/v1/events", headers=revoked),
    }
    await api.runtime.client_admin().disable("dave")
    answers["disabled"] = await api.http.get("/api/v1/events", headers=disabled)
    api.clock.advance(hours=13)
    answers["expired"] = await api.http.get("/api/v1/events", headers=expired)
    bodies = {name: (r.status_code, r.text) for name, r in answers.items()}
    assert set(bodies.values()) == {(401, '{"detail":"invalid or expired session"}')}, bodies

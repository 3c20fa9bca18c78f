"""Login through the real endpoint with real TOTP codes (pyotp), and what sessions allow."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.api.settings import ApiSettings
from tests.api.conftest import Api, make_settings

pytestmark = pytest.mark.anyio
DENIED = {"detail": "invalid credentials"}


async def test_login_opens_a_session_and_logout_revokes_it(api: Api) -> None:
    client = await api.new_client("alice")
    resp = await api.login(client)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "bearer" and body["idle_timeout_s"] == 30 * 60
    headers = {"Authorization": f"Bearer {body['session_token']}"}
    me = await api.http.get("/api/v1/auth/session", headers=headers)
    assert me.status_code == 200 and me.json()["client"] == "alice"
    assert (await api.http.get("/api/v1/events", headers=headers)).status_code == 200
    assert (await api.http.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    after = await api.http.get("/api/v1/events", headers=headers)
    assert after.status_code == 401 and after.json()["detail"] == "invalid or expired session"


async def test_wrong_code_unknown_token_and_disabled_client_get_the_same_answer(api: Api) -> None:
    client = await api.new_client("bob")
    good = api.code(client)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    wrong_code = await api.login(client, wrong)
    unknown = await api.http.post("/api/v1/auth/login", json={"token": "anpr_" + "x" * 43, "code": good})
    await api.runtime.client_admin().disable("bob")
    disabled = await api.login(client, good)
    for resp in (wrong_code, unknown, disabled):
        assert (resp.status_code, resp.json()) == (401, DENIED)


async def test_a_code_is_accepted_once(api: Api) -> None:
    client = await api.new_client()
    code = api.code(client)
    assert (await api.login(client, code)).status_code == 200
    replay = await api.login(client, code)
    assert (replay.status_code, replay.json()) == (401, DENIED)
    # The previous step's code is older than the one used: refused too.
    older = api.code(client, api.clock() - timedelta(seconds=30))
    assert (await api.login(client, older)).status_code == 401
    api.clock.advance(seconds=30)
    assert (await api.login(client)).status_code == 200


async def test_only_the_previous_step_is_tolerated_and_future_codes_are_refused(api: Api) -> None:
    client = await api.new_client()
    now = api.clock()
    assert (await api.login(client, api.code(client, now + timedelta(seconds=30)))).status_code == 401
    assert (await api.login(client, api.code(client, now - timedelta(seconds=60)))).status_code == 401
    assert (await api.login(client, api.code(client, now - timedelta(seconds=30)))).status_code == 200


async def test_sessions_expire_when_idle_and_at_their_absolute_limit(api: Api) -> None:
    client = await api.new_client()
    idle = await api.session(client)
    api.clock.advance(minutes=29)
    assert (await api.http.get("/api/v1/events", headers=idle)).status_code == 200  # use resets idle time
    api.clock.advance(minutes=29)
    assert (await api.http.get("/api/v1/events", headers=idle)).status_code == 200
    api.clock.advance(minutes=31)
    expired = await api.http.get("/api/v1/events", headers=idle)
    assert expired.status_code == 401 and expired.json()["detail"] == "invalid or expired session"

    busy = await api.session(client)
    for _ in range(12 * 4 - 1):  # in use every 15 minutes for just under 12 hours
        api.clock.advance(minutes=15)
        assert (await api.http.get("/api/v1/events", headers=busy)).status_code == 200
    api.clock.advance(minutes=15)
    assert (await api.http.get("/api/v1/events", headers=busy)).status_code == 401


async def test_disabling_a_client_ends_its_sessions(api: Api) -> None:
    client = await api.new_client("carol")
    headers = await api.session(client)
    assert (await api.http.get("/api/v1/occupancy", headers=headers)).status_code == 200
    await api.runtime.client_admin().disable("carol")
    assert (await api.http.get("/api/v1/occupancy", headers=headers)).status_code == 401


async def test_failed_logins_are_rate_limited_per_client(api: Api) -> None:
    client = await api.new_client()
    wrong = f"{(int(api.code(client)) + 1) % 1_000_000:06d}"
    for _ in range(api.runtime.settings.login_max_failures):
        assert (await api.login(client, wrong)).status_code == 401
    blocked = await api.login(client)  # even the right code
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    api.clock.advance(seconds=api.runtime.settings.login_window_s + 1)
    assert (await api.login(client)).status_code == 200


@pytest.fixture
def settings(db_url: str, key_material) -> ApiSettings:  # noqa: ANN001
    return make_settings(db_url, key_material, login_max_failures=3, login_max_failures_per_address=6)


async def test_failed_logins_are_rate_limited_per_address(api: Api) -> None:
    client = await api.new_client()
    for i in range(6):  # six different unknown tokens: the per-client limit never triggers
        resp = await api.http.post(
            "/api/v1/auth/login", json={"token": f"anpr_unknown_{i}", "code": "123456"}
        )
        assert resp.status_code == 401
    unknown_blocked = await api.http.post(
        "/api/v1/auth/login", json={"token": "anpr_other", "code": "123456"}
    )
    assert unknown_blocked.status_code == 429 and int(unknown_blocked.headers["Retry-After"]) > 0
    # A client presenting its own token is judged by its own limit, not by its address's.
    assert (await api.login(client)).status_code == 200


async def test_requests_without_a_valid_session_are_refused(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        resp = await api.http.get("/api/v1/events", headers=headers)
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"

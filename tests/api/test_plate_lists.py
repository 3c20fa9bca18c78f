"""Plate lists through the API (SQLite and MariaDB): add, find one misread away, change, expire,
remove; plates and notes sealed; `memberships` as the fee engine will call it."""

from __future__ import annotations

from datetime import timedelta

import pymysql
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from services.api.models import PlateListEntry
from tests.api.conftest import Api

pytestmark = pytest.mark.anyio


async def test_lists_crud_tolerant_lookup_and_expiry(api: Api) -> None:
    owner = await api.new_client("owner")
    headers = await api.session(owner)
    add = await api.http.post(
        "/api/v1/lists", json={"kind": "member", "plate": "abc-1234", "note": "Dr. Ruiz"}, headers=headers
    )
    assert add.status_code == 201, add.text
    entry = add.json()
    assert (entry["kind"], entry["plate"], entry["note"], entry["created_by"]) == (
        "member",
        "ABC1234",
        "Dr. Ruiz",
        "owner",
    )
    assert entry["active"] and entry["expires_at"] is None
    again = await api.http.post("/api/v1/lists", json={"kind": "member", "plate": "ABC1234"}, headers=headers)
    assert again.status_code == 409 and "already on the member list" in again.json()["detail"]
    staff = await api.http.post(
        "/api/v1/lists",
        json={
            "kind": "staff",
            "plate": "XYZ9876",
            "expires_at": (api.clock() + timedelta(hours=1)).isoformat(),
        },
        headers=headers,
    )
    assert staff.status_code == 201, staff.text

    # One misread (3 read as 8) still finds it, exactly as a tolerant search would.
    found = await api.http.get("/api/v1/lists", params={"plate": "ABC1284"}, headers=headers)
    assert [e["plate"] for e in found.json()["items"]] == ["ABC1234"]
    assert (await api.http.get("/api/v1/lists", params={"plate": "ABD1284"}, headers=headers)).json()[
        "total"
    ] == 0
    assert (await api.http.get("/api/v1/lists", params={"kind": "staff"}, headers=headers)).json()[
        "total"
    ] == 1
    async with api.runtime.sf() as s:
        assert await api.runtime.lists.memberships(s, "A8C1234") == {"member"}  # B/8 confusable
        assert await api.runtime.lists.memberships(s, "XYZ9B76") == {"staff"}
        assert await api.runtime.lists.memberships(s, "QQQ0000") == set()
    many = ["A8C1234", "XYZ9B76", "QQQ0000", "ABC1234"]  # one query for a page of cars inside
    async with api.runtime.sf() as s:
        one_by_one = {p: frozenset(await api.runtime.lists.memberships(s, p)) for p in many}
    assert await api.runtime.lists.memberships_of(many) == one_by_one
    assert one_by_one["XYZ9B76"] == {"staff"} and one_by_one["QQQ0000"] == frozenset()

    patched = await api.http.patch(
        f"/api/v1/lists/{entry['id']}", json={"note": "moved away", "expires_at": None}, headers=headers
    )
    assert patched.status_code == 200 and patched.json()["note"] == "moved away"
    api.clock.advance(hours=2)  # the staff entry expires (and the session idles out)
    headers = await api.session(owner)
    async with api.runtime.sf() as s:
        assert await api.runtime.lists.memberships(s, "XYZ9876") == set()
    assert (await api.runtime.lists.memberships_of(["XYZ9876", "ABC1234"]))["XYZ9876"] == frozenset()
    listed = (await api.http.get("/api/v1/lists", params={"kind": "staff"}, headers=headers)).json()["items"]
    assert [e["active"] for e in listed] == [False]

    # Nothing readable in the table: plate and note are sealed to their row.
    async with api.runtime.sf() as s:
        rows = list(await s.scalars(select(PlateListEntry)))
    assert rows and all(b"ABC1234" not in r.plate_ct + r.note_ct and b"moved" not in r.note_ct for r in rows)
    url = make_url(api.runtime.settings.database_url)
    if url.get_backend_name() == "mysql":
        conn = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, database=url.database)
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM plate_list_entries")
            dump = repr(cur.fetchall())
        conn.close()
        assert "ABC1234" not in dump and "Ruiz" not in dump

    assert (await api.http.delete(f"/api/v1/lists/{entry['id']}", headers=headers)).status_code == 204
    assert (await api.http.delete(f"/api/v1/lists/{entry['id']}", headers=headers)).status_code == 404
    async with api.runtime.sf() as s:
        assert await api.runtime.lists.memberships(s, "ABC1234") == set()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_bad_entries_are_refused_with_the_field_named(api: Api) -> None:
    headers = await api.session(await api.new_client())
    for body, field in (
        ({"kind": "vip", "plate": "ABC1234"}, "kind"),
        ({"kind": "deny", "plate": "--"}, "plate"),
        ({"kind": "deny", "plate": "ABC1234", "colour": "red"}, "colour"),
        ({"kind": "deny", "plate": "ABC1234", "expires_at": "soon"}, "expires_at"),
    ):
        resp = await api.http.post("/api/v1/lists", json=body, headers=headers)
        assert resp.status_code == 422, (body, resp.text)
        assert resp.json()["detail"][0]["loc"][-1] == field
    assert (await api.http.get("/api/v1/lists", headers=headers)).json()["total"] == 0
    assert (await api.http.get("/api/v1/lists")).status_code == 401

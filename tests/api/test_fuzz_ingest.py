"""Fuzz: any valid events (times at the bounds and in odd offsets, the largest read count, full
candidate lists of long unicode texts, the longest camera ids and plates) through HTTP ingest on
SQLite and MariaDB. Each is stored (201) or recognised as a repeat (200), never a server error; the
events list still answers, and a valid event sent afterwards is stored and listed."""

from __future__ import annotations

import uuid

import httpx
import pytest
from anyio import from_thread, to_thread
from hypothesis import given
from hypothesis import strategies as st

from anpr.messages import EventMessage
from tests.api.conftest import Api, event
from tests.common.strategies import events, fuzz_settings

pytestmark = pytest.mark.anyio
DEVICE = {"X-Device-Token": "device-token-for-tests-0123456789", "Content-Type": "application/json"}


async def test_no_valid_event_breaks_ingest(api: Api) -> None:
    stored: set[uuid.UUID] = set()

    async def post(ev: EventMessage) -> httpx.Response:
        return await api.http.post("/api/v1/ingest", content=ev.model_dump_json(), headers=DEVICE)

    @fuzz_settings(100)
    @given(batch=st.lists(events(), max_size=3))
    def ingest(batch: list[EventMessage]) -> None:
        for ev in batch:
            resp = from_thread.run(post, ev)
            assert resp.status_code == (200 if ev.event_id in stored else 201), resp.text
            stored.add(ev.event_id)

    await to_thread.run_sync(ingest)

    valid = event("KLM5050")
    assert (await post(valid)).status_code == 201
    headers = await api.session(await api.new_client())
    page = await api.http.get("/api/v1/events", params={"limit": 500}, headers=headers)
    assert page.status_code == 200, page.text
    assert page.json()["total"] == len(stored) + 1
    assert str(valid.event_id) in {item["event_id"] for item in page.json()["items"]}

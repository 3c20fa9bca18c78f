"""The audit view in a real headless Chromium against the real API: what the owner did is listed, each
change as what it changed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from anpr.messages import EventType
from services.api.retention import Policy, purge
from tests.web.conftest import LiveServer, make_event, shot, sign_in
from tests.web.test_accessibility import AXE, BLOCKING, axe_violations


def test_the_audit_view_lists_logins_and_client_changes_newest_first(seeded: LiveServer, page: Any) -> None:
    client = seeded.new_client()
    sign_in(page, seeded, client)
    page.click("#tabs a[data-view=audit]")
    page.wait_for_selector("#audit-table tbody tr")
    first = page.locator("#audit-table tbody tr").first
    assert first.locator("[data-label=Who]").text_content() == client.name
    assert first.locator("[data-label=Action]").text_content() == "login"
    assert "address: 127.0.0.1" in (first.locator("[data-label=Details]").text_content() or "")
    created = page.locator("#audit-table tbody tr", has_text="client create").filter(has_text=client.name)
    assert created.count() == 1
    assert "entries" in (page.text_content("#audit-summary") or "")
    assert page.title() == "Audit log · Lot records"
    shot(page, "11-audit")
    assert AXE.is_file(), "npm ci --prefix tests/web installs axe-core"
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
    assert blocking == [], blocking


def test_the_owners_changes_read_as_what_they_changed(server: LiveServer, page: Any) -> None:
    token = server.login(server.new_client("manager"))
    auth = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body: dict | None = None) -> dict:
        resp = httpx.request(method, f"{server.base_url}/api/v1{path}", json=body, headers=auth, timeout=30)
        assert resp.status_code < 300, resp.text
        return resp.json() if resp.content else {}

    entry = make_event("AUD1234", EventType.ENTRY, datetime.now(timezone.utc) - timedelta(minutes=30))
    server.ingest(entry)
    call("POST", "/tariffs", {"currency": "USD", "standard": {"period_price": 250}})
    call("PUT", f"/payments/{entry.event_id}", {"status": "waived"})
    call("POST", f"/events/{entry.event_id}/plate", {"plate": "AUD1235"})
    call("POST", f"/events/{entry.event_id}/void", {"voided": True})
    call("POST", f"/events/{entry.event_id}/void", {"voided": False})
    listed = call("POST", "/lists", {"kind": "watch", "plate": "WAT0001"})
    call("PATCH", f"/lists/{listed['id']}", {"note": "seen at night"})
    call("DELETE", f"/lists/{listed['id']}")
    hook = call("POST", "/webhooks", {"url": "https://hooks.example.com/anpr"})
    call("DELETE", f"/webhooks/{hook['id']}")

    sign_in(page, server, server.new_client())
    page.click("#tabs a[data-view=audit]")
    page.wait_for_selector("#audit-table tbody tr")

    def details(action: str) -> str:
        row = page.locator("#audit-table tbody tr").filter(
            has=page.locator(f"[data-label=Action]:text-is('{action}')")
        )
        assert row.count() == 1, action
        assert row.locator("[data-label=Who]").text_content() == "manager"
        return row.locator("[data-label=Details]").text_content() or ""

    assert details("plate corrected") == "plate: AUD1234 → AUD1235"
    assert details("event voided") == "voided: false → true"
    assert details("event restored") == "voided: true → false"
    assert details("payment") == "status: unpaid → waived"
    assert "period_price" in details("tariff version")
    added = details("list: plate added")
    assert "kind: watch" in added and "plate: WAT0001" in added
    assert "seen at night" in details("list: entry changed")
    assert details("list: plate removed").startswith("before: ")
    assert details("webhook added") == "url: https://hooks.example.com/anpr"
    assert details("webhook removed") == "before: url: https://hooks.example.com/anpr"
    shot(page, "11-audit-changes")


def test_entries_past_retention_show_their_details_were_removed(server: LiveServer, page: Any) -> None:
    token = server.login(server.new_client("manager"))
    resp = httpx.post(
        f"{server.base_url}/api/v1/lists",
        json={"kind": "watch", "plate": "WAT0002"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    a_year_on = datetime.now(timezone.utc) + timedelta(days=366)
    server.call(purge(server.runtime.sf, Policy(records_days=365, snapshots_days=0), a_year_on, actor="cli"))

    sign_in(page, server, server.new_client())
    page.click("#tabs a[data-view=audit]")
    page.wait_for_selector("#audit-table tbody tr")
    added = page.locator("#audit-table tbody tr", has_text="list: plate added")
    assert added.locator("[data-label=Details]").text_content() == "removed after the retention period"
    assert "WAT0002" not in (page.text_content("#audit-table") or "")
    purged = page.locator("#audit-table tbody tr", has_text="purge")
    assert "audit_entries_redacted: " in (purged.locator("[data-label=Details]").text_content() or "")

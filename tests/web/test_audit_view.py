"""The audit view in a real headless Chromium against the real API: what the owner did is listed."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import LiveServer, shot, sign_in
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

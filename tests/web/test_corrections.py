"""Corrections in a real Chromium against the real API (MariaDB): a misread exit's visit and its
entry's visit merge into one visit with a fee, the misread stays visible, the merge is audited and can
be split again; a plate corrected and an event voided from the visit dialog."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from anpr.messages import EventType
from tests.web.conftest import LiveServer, make_event, shot, sign_in

IN, OUT = EventType.ENTRY, EventType.EXIT
TARIFF = {"currency": "USD", "standard": {"period_minutes": 60, "period_price": 250}}


def visit_row(page: Any, plate: str) -> Any:
    return page.locator("#visits-table tbody tr", has_text=plate)


def test_two_broken_visits_merged_in_the_dialog_become_one_with_a_fee(server: LiveServer, page: Any) -> None:
    token = server.login(server.new_client())
    resp = httpx.post(
        f"{server.base_url}/api/v1/tariffs",
        json=TARIFF,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    now = datetime.now(timezone.utc)  # after the tariff took effect: visits pay it
    server.ingest(make_event("ABC1234", IN, now))
    server.ingest(make_event("ABC1284", OUT, now + timedelta(seconds=1)))  # 3 read as 8
    server.ingest(make_event("QRS5555", OUT, now + timedelta(seconds=1)))  # far off: no candidate
    time.sleep(1.5)  # the exit must be in the past for the merged visit to count as completed

    sign_in(page, server, server.new_client("owner"))
    page.click("#tabs a[data-view=visits]")
    visit_row(page, "ABC-1284").wait_for()
    assert "No entry seen" in visit_row(page, "ABC-1284").text_content()
    visit_row(page, "ABC-1234").locator("button:text('Open')").click()
    page.click("#detail button:text('Merge with…')")
    candidate = page.locator("#detail .merge-list li", has_text="ABC-1284")
    candidate.wait_for()
    assert page.locator("#detail .merge-list li").count() == 1  # QRS-5555 is no misread of it
    shot(page, "corrections-merge-candidates", full_page=False)
    candidate.locator("button:text('Merge')").click()

    # The dialog shows the merged visit, billed; the exit keeps its misread in sight.
    page.wait_for_selector("#detail h3 .badge.completed")
    page.wait_for_function("() => document.querySelectorAll('#detail .event-card').length === 2")
    assert page.locator("#detail .read-as").text_content() == "ABC-1284 →"
    assert page.locator("#detail .facts .fee").text_content() == "$2.50 unpaid"
    assert page.locator("#detail button", has_text="Ticket ").count() == 1
    shot(page, "corrections-merged", full_page=False)
    page.click("#detail-close")
    page.wait_for_selector("#visits-summary:text('2 visits · average stay')")  # and QRS5555's own
    merged = visit_row(page, "ABC-1234")
    assert merged.count() == 1 and visit_row(page, "ABC-1284").count() == 0
    assert "Completed" in merged.text_content()
    assert merged.locator("td[data-label=Fee]").text_content() == "$2.50 unpaid"  # one started hour

    page.click("#tabs a[data-view=search]")
    exit_row = page.locator("#search-table tbody tr", has_text="Exit").filter(has_text="ABC-1234")
    exit_row.wait_for()
    assert exit_row.locator("td[data-label=Plate]").text_content() == "ABC-1284 →ABC-1234"

    page.click("#tabs a[data-view=audit]")
    audited = page.locator("#audit-table tbody tr", has_text="visits merged")
    audited.wait_for()
    assert "plate: ABC1284 → ABC1234" in audited.locator("[data-label=Details]").text_content()
    assert "owner" in audited.text_content()

    page.click("#tabs a[data-view=visits]")
    visit_row(page, "ABC-1234").locator("button:text('Open')").click()
    split = page.locator("#detail button:text('Split entry and exit')")
    split.click()
    page.click("#detail button:text('Confirm: split into two visits')")
    page.wait_for_selector("#detail:not([open])", state="attached")
    page.wait_for_selector("#visits-summary:text('3 visits')")
    statuses = [r.locator("td[data-label=Status]").text_content() for r in visit_row(page, "ABC-1234").all()]
    assert sorted(statuses) == ["No entry seen", "No exit seen"]


def test_a_plate_corrected_then_the_event_voided_from_the_dialog(server: LiveServer, page: Any) -> None:
    server.ingest(make_event("XYZ9876", IN, datetime.now(timezone.utc) - timedelta(minutes=20)))
    sign_in(page, server, server.new_client("owner"))
    page.click("#tabs a[data-view=visits]")
    visit_row(page, "XYZ-9876").locator("button:text('Open')").click()
    page.locator("#detail .event-card button:text('Correct plate')").click()
    plate = page.locator("#detail .correct-form [name=plate]")
    plate.fill("--")
    page.click("#detail .correct-form button[type=submit]")
    page.wait_for_selector("#detail .correct-form .error:text('no letters or digits')")
    plate.fill("xyz 9875")
    page.click("#detail .correct-form button[type=submit]")
    page.wait_for_selector("#banner:text('Plate corrected: XYZ-9876 → XYZ-9875')")
    visit_row(page, "XYZ-9875").wait_for()
    assert visit_row(page, "XYZ-9876").count() == 0

    visit_row(page, "XYZ-9875").locator("button:text('Open')").click()
    page.wait_for_selector("#detail .read-as:text('XYZ-9876 →')")
    page.click("#detail .event-card button:text('Void')")
    page.click("#detail .event-card button:text('Confirm: void this event')")
    page.wait_for_selector("#visits-summary:text('No visits in this range.')")

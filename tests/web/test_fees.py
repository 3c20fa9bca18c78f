"""Fees in a real Chromium against the real API (MariaDB): set a tariff, see fees in the visits list,
open and print a ticket, mark it paid."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

from anpr.messages import EventType
from tests.web.conftest import LiveServer, make_event, shot, sign_in


def test_set_a_tariff_see_fees_print_a_ticket_and_mark_it_paid(server: LiveServer, page: Any) -> None:
    client = server.new_client("cashier")
    sign_in(page, server, client)
    page.click("#tabs a[data-view=fees]")
    page.wait_for_selector("#fees-current:text('No tariff yet')")
    form = "#fees-form"
    page.fill(f"{form} [name=currency]", "USD")
    page.fill(f"{form} [name=grace_minutes]", "0")
    page.fill(f"{form} [name=period_minutes]", "60")
    page.fill(f"{form} [name=period_price]", "2.5")
    page.fill(f"{form} [name=daily_cap]", "20")
    page.fill(f"{form} [name=period_price]", "2.5x")  # a typo first: refused in the page, nothing sent
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#fees-error:text('Price per period')")
    assert page.locator("#fees-versions tbody tr").count() == 0
    page.fill(f"{form} [name=period_price]", "2.5")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector("#fees-current:text('Version 1: $2.50 per 60 min started')")
    assert "at most $20.00 a day" in page.text_content("#fees-current")
    assert page.locator("#fees-versions tbody tr").count() == 1
    assert "cashier" in page.text_content("#fees-versions tbody tr")

    # Cars that enter under the tariff: one in and out, one still inside.
    now = datetime.now(timezone.utc)
    server.ingest(make_event("FEE1234", EventType.ENTRY, now))
    server.ingest(make_event("FEE1234", EventType.EXIT, now + timedelta(seconds=1)))
    server.ingest(make_event("FEE5678", EventType.ENTRY, now))
    time.sleep(1.5)  # the exit must be in the past for the visit to count as completed
    page.click("#tabs a[data-view=visits]")
    done = page.locator("#visits-table tbody tr", has_text="FEE-1234")
    inside = page.locator("#visits-table tbody tr", has_text="FEE-5678")
    done.wait_for()
    assert done.locator("td[data-label=Fee]").text_content() == "$2.50 unpaid"
    assert inside.locator("td[data-label=Fee]").text_content() == "$2.50 so far unpaid"
    shot(page, "fees-visits")

    done.locator("button:text('Open')").click()
    page.locator("#detail button", has_text="Ticket ").click()
    page.wait_for_selector("#view-ticket:not([hidden]) .ticket-facts")
    ticket_id = page.text_content("#ticket-id")
    assert len(ticket_id) == 9 and ticket_id[4] == "-"
    facts = page.text_content("#ticket-body")
    assert "FEE-1234" in facts and "$2.50" in facts and "version 1" in facts
    assert "America/Chicago" in facts
    assert (
        page.locator("#ticket-body .ticket-snap").count() == 2
    )  # entry and exit snapshots (or "no snapshot")
    assert page.evaluate("() => typeof window.print") == "function"
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.click("#ticket-print")
    assert page.evaluate("() => window.printed") == 1
    page.emulate_media(media="print")
    assert not page.locator("#topbar").is_visible() and not page.locator("#ticket-actions").is_visible()
    assert page.locator("#ticket-body").is_visible()
    shot(page, "fees-ticket-print")
    page.emulate_media(media="screen")

    page.click("#ticket-actions [data-status=paid]")
    page.wait_for_selector("#ticket-body .badge.paid")
    assert "cashier" in page.text_content("#ticket-body")
    assert page.locator("#ticket-actions [data-status=paid]").is_disabled()
    token = server.login(server.new_client())  # a TOTP code works once: another client checks
    listed = server.get("/api/v1/visits", token).json()["items"]
    paid = next(v for v in listed if v["plate"] == "FEE1234")["billing"]["payment"]
    assert paid["status"] == "paid" and paid["amount"] == 250 and paid["set_by"] == "cashier"

    page.click("#tabs a[data-view=fees]")
    # Today first: what was paid, and nothing unpaid left of the completed visit.
    page.wait_for_selector("#fees-revenue tbody tr:first-child td[data-label=Paid]:text-is('$2.50')")
    assert page.text_content("#fees-revenue tbody tr:first-child td[data-label=Unpaid]") == "$0.00"
    assert page.locator("#fees-revenue tbody tr").count() >= 7  # the range starts at a local midnight

    page.click("#tabs a[data-view=visits]")
    page.locator("#visits-table tbody tr", has_text="FEE-1234").locator("button:text('Open')").click()
    page.locator("#detail button", has_text="Ticket ").click()
    page.wait_for_selector("#view-ticket:not([hidden]) .ticket-facts")
    page.click("#view-ticket a.back")
    done.wait_for()
    page.wait_for_selector("#visits-table tbody tr:has-text('FEE-1234') .badge.paid")

"""The Alerts view in Chromium: a plate put on the watch list raises an alert, shown live, when the
plate is read one character off; a webhook added there shows its secret once."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from anpr.messages import EventType
from tests.api.conftest import RealPlate
from tests.web.conftest import LiveServer, make_event, shot, sign_in
from tests.web.test_app import misread, shown_plate


def test_a_watched_plate_read_one_character_off_arrives_live(
    server: LiveServer, page: Any, real_plates: list[RealPlate]
) -> None:
    sign_in(page, server, server.new_client())
    page.click("#tabs a[data-view=alerts]")
    page.wait_for_selector("#alerts-status.on")
    page.wait_for_selector("#alerts-empty:not([hidden])")
    car = next(rp for rp in real_plates if len(rp.plate) >= 6)
    page.select_option("#lists-form [name=kind]", "watch")
    page.fill("#lists-form [name=plate]", car.plate.lower())
    page.fill("#lists-form [name=note]", "reported stolen")
    page.click("#lists-form button[type=submit]")
    row = page.wait_for_selector(f"#lists-table tbody tr:has-text('{shown_plate(car.plate)}')")
    assert "watch" in row.text_content() and "reported stolen" in row.text_content()

    read = misread(car.plate)
    sighting = make_event(read, EventType.ENTRY, datetime.now(timezone.utc), snapshot=car.jpeg)
    server.publish(sighting)  # through Mosquitto, as the aggregator sends it
    card = page.wait_for_selector(f"#alerts-list > li.new:has-text('{shown_plate(read)}')")
    assert "Listed plate: watch" in card.text_content() and f"as {car.plate}" in card.text_content()
    assert "Listed plate: watch" in page.text_content("#alerts-announce")
    assert page.is_hidden("#alerts-empty")
    shot(page, "alerts-live")

    token = server.login(server.new_client())
    alerts = server.get("/api/v1/alerts", token).json()["items"]
    assert [(a["plate"], a["list_kind"], a["event_id"]) for a in alerts] == [
        (read, "watch", str(sighting.event_id))
    ]

    page.fill("#webhooks-form [name=url]", "https://example.org/anpr")
    page.click("#webhooks-form button[type=submit]")
    secret = page.wait_for_selector("#webhooks-secret:not([hidden]) code").text_content()
    assert len(secret) >= 40
    page.wait_for_selector("#webhooks-table tbody tr:has-text('https://example.org/anpr')")
    assert secret not in server.get("/api/v1/webhooks", token).text
    page.click("#tabs a[data-view=live]")
    page.click("#tabs a[data-view=alerts]")
    assert page.is_hidden("#webhooks-secret") and secret not in page.content()  # shown once

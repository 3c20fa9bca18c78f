"""The owner's web app in a real headless Chromium against the real API (see conftest.py)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytz

from anpr.messages import EventMessage, EventType, VehicleClass
from anpr.plates import display, parse_formats
from tests.api.conftest import RealPlate
from tests.web.conftest import PHONE, LiveServer, PageErrors, make_event, open_page, shot, sign_in

LOT_TZ = pytz.timezone("America/Chicago")
FORMATS = parse_formats("AAA-0000")


def shown_plate(plate: str) -> str:
    return display(plate, FORMATS)


def local(dt: datetime) -> str:
    return dt.astimezone(LOT_TZ).strftime("%Y-%m-%d %H:%M:%S")


def session_token(page: Any) -> str | None:
    return page.evaluate(
        "() => (JSON.parse(sessionStorage.getItem('anpr.session')) || {}).session_token || null"
    )


def misread(plate: str) -> str:
    """The plate with one character read wrong (not a confusable: a real misread)."""
    i = len(plate) // 2
    return plate[:i] + ("X" if plate[i] != "X" else "W") + plate[i + 1 :]


def a_completed_visit(server: LiveServer) -> tuple[EventMessage, EventMessage]:
    by_plate: dict[str, list[EventMessage]] = {}
    for ev in server.seeded:
        by_plate.setdefault(ev.plate, []).append(ev)
    now = datetime.now(timezone.utc)
    for evs in by_plate.values():
        if len(evs) == 2 and len(evs[0].plate) >= 6 and evs[0].time > now - timedelta(hours=20):
            return evs[0], evs[1]
    raise AssertionError("the seed has no completed visit today")


def download_csv(page: Any, selector: str) -> tuple[str, list[dict[str, str]]]:
    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    path = download.path()
    with open(path, encoding="utf-8") as fh:
        return download.suggested_filename, list(csv.DictReader(io.StringIO(fh.read())))


# -- sign in, live -----------------------------------------------------------------------------------------
def test_sign_in_with_totp_then_an_event_from_mosquitto_appears_live(
    seeded: LiveServer, page: Any, real_plates: list[RealPlate]
) -> None:
    client = seeded.new_client("owner")
    page.goto(f"{seeded.base_url}/")  # redirects to the app
    assert page.url.endswith("/app/")
    page.wait_for_selector("#view-signin:not([hidden])")
    shot(page, "01-sign-in")

    page.fill("#signin-form [name=token]", client.token)
    page.fill("#signin-form [name=code]", "12345x")
    page.click("#signin-form button[type=submit]")
    assert page.locator("#topbar").is_hidden()  # the field's pattern refuses it before any request
    page.fill("#signin-form [name=code]", "000000" if pyotp_now(client) != "000000" else "111111")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-error:text('Token or code not accepted.')")
    shot(page, "01-sign-in-refused")

    sign_in(page, seeded, client)
    assert page.text_content("#who") == "owner"
    assert session_token(page), "the session is kept in sessionStorage"
    assert "anpr_" not in page.url  # never in a URL
    page.wait_for_selector("#live-status.on")
    page.wait_for_function("() => document.querySelectorAll('#live-list > li').length === 24")
    page.wait_for_selector("#live-inside:text('3 inside')")
    page.evaluate("window.__sameDocument = 'yes'")

    rp = real_plates[20]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ev = make_event(
        rp.plate, EventType.ENTRY, now, snapshot=rp.jpeg, vehicle=VehicleClass.TRUCK, confidence=0.87
    )
    seeded.publish(ev)
    card = page.locator(f"#live-list > li[data-event-id='{ev.event_id}']")
    card.wait_for(timeout=15_000)

    assert page.evaluate("window.__sameDocument") == "yes", "the page was reloaded"
    assert page.locator("#live-list > li").first.get_attribute("data-event-id") == str(ev.event_id)
    assert card.locator(".plate").text_content() == shown_plate(rp.plate)
    assert card.locator(".badge").text_content() == "Entry"
    text = card.inner_text()
    assert local(now) in text and "gate-in" in text and "Truck" in text and "87%" in text
    assert card.locator("time").get_attribute("datetime").endswith(("-06:00", "-05:00"))
    page.wait_for_function(
        "id => { const img = document.querySelector(`[data-event-id='${id}'] img.snap`);"
        " return img && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0 }",
        arg=str(ev.event_id),
    )
    page.wait_for_selector("#live-inside:text('4 inside')")
    shot(page, "02-live")


def pyotp_now(client: Any) -> str:
    import pyotp

    return pyotp.TOTP(client.totp_secret).now()


# -- search, visits, export ------------------------------------------------------------------------------
def test_search_a_misread_plate_open_its_visit_and_export_csv(seeded: LiveServer, page: Any) -> None:
    entry, exit_ = a_completed_visit(seeded)
    plate = entry.plate
    sign_in(page, seeded, seeded.new_client())
    page.click("#tabs a[data-view=search]")
    page.wait_for_selector("#search-summary:text('29 events')")
    assert page.locator("#search-table tbody tr").count() == 25
    shot(page, "03-search")

    page.fill("#search-form [name=plate]", misread(plate))
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-summary:text('No events match.')")
    page.check("#search-form [name=tolerant]")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-summary:text('2 events')")
    rows = page.locator("#search-table tbody tr")
    assert {rows.nth(i).get_attribute("data-event-id") for i in range(2)} == {
        str(entry.event_id),
        str(exit_.event_id),
    }
    assert rows.first.locator(".plate").text_content() == shown_plate(plate)
    assert rows.first.locator("time").text_content() == local(exit_.time)  # newest first
    page.wait_for_function(
        "() => [...document.querySelectorAll('#search-table img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(page, "03-search-plate")

    name, csv_rows = download_csv(page, "#search-form [data-action=export]")
    assert name.startswith("events_start_to_") and name.endswith(".csv")
    assert [r["event_id"] for r in csv_rows] == [str(exit_.event_id), str(entry.event_id)]
    assert {r["plate"] for r in csv_rows} == {plate}
    assert [r["type"] for r in csv_rows] == ["exit", "entry"]
    assert csv_rows[1]["time"] == local(entry.time)  # lot time, as a spreadsheet reads it

    # Filter by type and camera too.
    page.fill("#search-form [name=plate]", "")
    page.select_option("#search-form [name=type]", "exit")
    page.fill("#search-form [name=camera]", "gate-out")
    page.click("#search-form button[type=submit]")
    exits = sum(1 for e in seeded.seeded if e.type is EventType.EXIT)
    page.wait_for_selector(f"#search-summary:text('{exits} events')")

    # The visit, from the visits list.
    page.click("#tabs a[data-view=visits]")
    page.wait_for_selector("#visits-summary:text('10 visits')")
    shot(page, "04-visits")
    row = page.locator("#visits-table tbody tr", has=page.locator(f".plate:text-is('{shown_plate(plate)}')"))
    assert row.locator(".badge").text_content() == "Completed"
    row.locator("button:text('Open')").click()
    dialog = page.locator("#detail")
    dialog.wait_for()
    page.wait_for_function("() => document.querySelectorAll('#detail .event-card').length === 2")
    facts = dialog.locator(".facts").inner_text()
    assert local(entry.time) in facts and local(exit_.time) in facts
    minutes = round((exit_.time - entry.time).total_seconds() / 60)
    assert f"{minutes // 60} h {minutes % 60:02d} min" in facts or f"{minutes} min" in facts
    cards = dialog.locator(".event-card")
    assert cards.nth(0).get_attribute("data-event-id") == str(entry.event_id)
    assert cards.nth(1).get_attribute("data-event-id") == str(exit_.event_id)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#detail img.snap')].every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(page, "05-visit")

    dialog.locator("h3 .plate").click()  # the vehicle's history
    page.wait_for_selector("#view-vehicle:not([hidden])")
    assert page.text_content("#vehicle-plate") == shown_plate(plate)
    page.wait_for_function("() => document.querySelectorAll('#vehicle-events tbody tr').length === 2")
    # The two tables load independently: wait for the visits too before counting.
    page.wait_for_function("() => document.querySelectorAll('#vehicle-visits tbody tr').length >= 1")
    assert page.locator("#vehicle-visits tbody tr").count() == 1
    page.wait_for_function(
        "() => [...document.querySelectorAll('#vehicle-events img.thumb')].every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(page, "06-vehicle")

    page.click("#tabs a[data-view=visits]")
    name, visit_rows = download_csv(page, "#visits-form [data-action=export]")
    assert name.startswith("visits_") and name.endswith(".csv")
    today = [
        e
        for e in seeded.seeded
        if e.type is EventType.ENTRY and e.time > datetime.now(timezone.utc) - timedelta(hours=24)
    ]
    assert sorted(r["entry_event_id"] for r in visit_rows) == sorted(str(e.event_id) for e in today)
    mine = next(r for r in visit_rows if r["plate"] == plate)
    assert mine["status"] == "completed" and mine["exit_event_id"] == str(exit_.event_id)
    assert float(mine["duration_s"]) == (exit_.time - entry.time).total_seconds()


# -- inside, charts ------------------------------------------------------------------------------------------
def last_24_hours_since() -> datetime:
    """Where the app's "last 24 hours" begins: the lot's whole hour 23 hours before the current one
    (the seeded times fall on both sides of it as the minute of the hour changes)."""
    hour = (
        datetime.now(timezone.utc).astimezone(LOT_TZ).replace(minute=0, second=0, microsecond=0, tzinfo=None)
    )
    return LOT_TZ.localize(hour - timedelta(hours=23)).astimezone(timezone.utc)


def test_vehicles_inside_and_charts(seeded: LiveServer, page: Any) -> None:
    sign_in(page, seeded, seeded.new_client())
    page.click("#tabs a[data-view=inside]")
    page.wait_for_selector("#inside-count:text-is('3')")
    page.wait_for_selector("#inside-free:text-is('7')")  # API_LOT_SPACES=10
    assert page.locator("#inside-capacity").text_content() == "free of 10 spaces"
    inside = {e.plate for e in seeded.seeded if sum(1 for x in seeded.seeded if x.plate == e.plate) == 1}
    shown = set(page.locator("#inside-table tbody .plate").all_text_contents())
    assert shown == {shown_plate(p) for p in inside}
    shot(page, "07-inside")

    before = last_24_hours_since()
    page.click("#tabs a[data-view=charts]")
    page.wait_for_selector("#chart-flow svg")
    tiles = page.locator("#charts-tiles .tile-value").all_text_contents()
    counts = {}  # the page chose its range between these two moments (they differ if the hour turned)
    for since in (before, last_24_hours_since()):
        entries = sum(1 for e in seeded.seeded if e.type is EventType.ENTRY and e.time >= since)
        exits = sum(1 for e in seeded.seeded if e.type is EventType.EXIT and e.time >= since)
        counts[(str(entries), str(exits))] = (entries, exits)
    assert tuple(tiles[:2]) in counts
    entries, exits = counts[tuple(tiles[:2])]
    titles = page.locator("#chart-flow rect.bar-entries title").all_text_contents()
    assert len(titles) in (24, 25)  # one bar per local hour of the range
    assert sum(int(t.rsplit(": ", 1)[1]) for t in titles) == entries
    assert page.locator("#chart-busy rect.bar-entries").count() == 24
    assert page.locator("#chart-stay rect.bar-stay").count() >= 1
    shot(page, "08-charts")

    name, rows = download_csv(page, "#charts-export")
    assert name.startswith("stats-per-hour_") and name.endswith(".csv")
    assert sum(int(r["entries"]) for r in rows) == entries and sum(int(r["exits"]) for r in rows) == exits
    assert all(len(r["hour"]) == len("2025-03-01 14:00") for r in rows)

    page.select_option("#charts-range", "7d")
    page.wait_for_selector("#chart-flow-title:text('per day')")
    page.wait_for_function("() => document.querySelectorAll('#chart-flow rect.bar-entries').length >= 7")
    week = page.locator("#charts-tiles .tile-value").first.text_content()
    assert week == str(sum(1 for e in seeded.seeded if e.type is EventType.ENTRY))
    shot(page, "08-charts-7-days")


# -- sign out, an ended session ---------------------------------------------------------------------------
def test_sign_out_ends_the_session_and_the_old_one_is_refused(seeded: LiveServer, page: Any) -> None:
    sign_in(page, seeded, seeded.new_client())
    page.wait_for_function("() => document.querySelectorAll('#live-list > li').length > 0")
    token = session_token(page)
    assert seeded.get("/api/v1/events", token).status_code == 200

    page.click("#signout")
    page.wait_for_selector("#view-signin:not([hidden])")
    assert page.text_content("#signin-error") == "You are signed out."
    assert page.locator("#topbar").is_hidden()
    assert session_token(page) is None
    body = page.locator("body").inner_html()
    assert not any(shown_plate(e.plate) in body or e.plate in body for e in seeded.seeded), (
        "data left in the page"
    )
    shot(page, "09-signed-out")

    for path in ("/api/v1/events", "/api/v1/auth/session", "/api/v1/events/stream", "/api/v1/occupancy"):
        resp = seeded.get(path, token)
        assert resp.status_code == 401, path
    page.reload()
    page.wait_for_selector("#view-signin:not([hidden])")
    page.goto(f"{seeded.base_url}/app/#search")
    page.wait_for_selector("#view-signin:not([hidden])")
    assert page.locator("#view-search").is_hidden()


def test_a_session_ended_elsewhere_sends_the_app_back_to_sign_in(seeded: LiveServer, page: Any) -> None:
    sign_in(page, seeded, seeded.new_client())
    page.wait_for_selector("#live-status.on")
    page.wait_for_function(  # nothing in flight: the next request is the one that finds out
        "() => { const imgs = [...document.querySelectorAll('#live-list img.snap')];"
        " return imgs.length > 0 && imgs.every(i => i.src.startsWith('blob:') && i.complete) }"
    )
    token = session_token(page)
    resp = httpx.post(f"{seeded.base_url}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 204  # as if it had expired or its client had been disabled
    page.click("#tabs a[data-view=search]")
    page.wait_for_selector("#view-signin:not([hidden])")
    assert "session has ended" in page.text_content("#signin-error")
    assert session_token(page) is None


# -- phone -----------------------------------------------------------------------------------------------
def test_phone_screen(seeded: LiveServer, browser: Any, page_errors: PageErrors) -> None:
    page = open_page(browser, page_errors, PHONE)
    try:
        page.goto(f"{seeded.base_url}/")
        page.wait_for_selector("#view-signin:not([hidden])")
        shot(page, "10-phone-sign-in")
        sign_in(page, seeded, seeded.new_client())
        page.wait_for_function(
            "() => document.querySelectorAll('#live-list > li img.snap[src^=blob]').length >= 3"
        )
        page.set_viewport_size(PHONE)
        shot(page, "10-phone-live", full_page=False)
        loaded = {
            "search": "#search-summary:text('29 events')",
            "visits": "#visits-summary:text('10 visits')",
            "inside": "#inside-count:text-is('3')",
            "charts": "#chart-busy svg",
        }
        for view, ready in loaded.items():
            page.click(f"#tabs a[data-view={view}]")
            page.wait_for_selector(ready)
            page.wait_for_timeout(500)  # thumbnails
            width = page.evaluate("document.documentElement.scrollWidth")
            wide = page.evaluate(
                "w => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > w + 1)"
                ".slice(0, 5).map(e => e.tagName + '.' + e.className + '#' + e.id)",
                PHONE["width"],
            )
            assert width <= PHONE["width"], f"{view} is wider than the phone ({width}px): {wide}"
            shot(page, f"10-phone-{view}", full_page=False)
        page.click("#tabs a[data-view=visits]")
        page.click("#visits-table tbody tr >> nth=0")
        page.wait_for_selector("#detail[open]")
        shot(page, "10-phone-visit", full_page=False)
    finally:
        page.context.close()
    assert page_errors.errors == []

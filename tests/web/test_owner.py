"""What a lot owner tripped over (issue #14), each in a real Chromium against the real API: the vehicle
page, busiest hours, date fields in US English, overstays, the visits summary and hint, other reads,
chart labels and partial periods, loading state, photos and zoom, the time zone, Inside refreshing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from anpr.messages import Candidate, EventMessage, EventType
from tests.api.conftest import RealPlate
from tests.web.conftest import PHONE, LiveServer, PageErrors, make_event, open_page, sign_in
from tests.web.test_app import shown_plate


def store(server: LiveServer, events: list[EventMessage]) -> None:
    """Straight into the store (the same code both ingest paths call): fast for many events."""

    async def put() -> None:
        for ev in events:
            await server.runtime.store.ingest(ev)

    server.call(put(), timeout_s=120)


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


# -- 1. the vehicle page ---------------------------------------------------------------------------------
def test_vehicle_page_shows_a_parked_car_inside_newest_visit_first_and_pages_past_100(
    server: LiveServer, page: Any, real_plates: list[RealPlate]
) -> None:
    rp = real_plates[0]
    now = now_utc()
    events = []
    for i in range(130):  # a regular: 130 visits over the last ~260 days
        entry = now - timedelta(days=2 * i + 1, hours=3)
        events += [
            make_event(rp.plate, EventType.ENTRY, entry),
            make_event(rp.plate, EventType.EXIT, entry + timedelta(hours=2)),
        ]
    events.append(make_event(rp.plate, EventType.ENTRY, now - timedelta(hours=2), snapshot=rp.jpeg))
    store(server, events)
    sign_in(page, server, server.new_client())
    page.click("#tabs a[data-view=search]")
    page.fill("#search-form [name=plate]", rp.plate)
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#search-summary:text('261 events')")
    page.locator("#search-table tbody tr .plate").first.click()
    page.wait_for_selector("#view-vehicle:not([hidden])")
    page.wait_for_selector("#vehicle-tiles .tile")

    tiles = page.locator("#vehicle-tiles .tile-value").all_text_contents()
    assert tiles[0] == "131" and tiles[1] == "Inside", tiles
    assert tiles[2] == "2 h 00 min", tiles  # over all 130 completed visits
    rows = page.locator("#vehicle-visits tbody tr")
    assert rows.count() == 25
    assert rows.first.locator(".badge").text_content() == "Parked"
    entries = [
        t.get_attribute("datetime")
        for t in page.locator("#vehicle-visits tbody tr td:nth-child(2) time").all()
    ]
    assert entries == sorted(entries, reverse=True), "visits newest first"
    pager = page.locator("#vehicle-visits-pager")
    assert pager.is_visible() and pager.locator("[data-page=label]").text_content() == "1–25 of 131"
    for first in (26, 51, 76, 101, 126):
        pager.locator("[data-page=next]").click()
        page.wait_for_selector(f"#vehicle-visits-pager [data-page=label]:text('{first}–')")
    assert pager.locator("[data-page=label]").text_content() == "126–131 of 131"
    assert rows.count() == 6
    assert page.locator("#vehicle-visits-pager [data-page=next]").is_disabled()
    oldest = datetime.fromisoformat(rows.last.locator("time").first.get_attribute("datetime"))
    assert oldest == now - timedelta(days=2 * 129 + 1, hours=3)  # the last page ends with the first visit


# -- 2 and 6: busiest hours, chart labels, partial periods ------------------------------------------------
def _bar_values(page: Any, chart: str, cls: str) -> list[tuple[str, float]]:
    out = []
    for t in page.locator(f"#{chart} rect.{cls} title").all_text_contents():
        label, value = t.split(" · ")[0], t.rsplit(": ", 1)[1]
        out.append((label.replace(" (so far)", ""), float(value)))
    return out


def test_busiest_hours_average_over_the_days_of_the_range_and_labels_are_unique(
    seeded: LiveServer, page: Any
) -> None:
    sign_in(page, seeded, seeded.new_client())
    page.click("#tabs a[data-view=charts]")
    page.wait_for_selector("#chart-busy svg")
    assert "over 1 day)" in page.text_content("#chart-busy-title")
    flow = _bar_values(page, "chart-flow", "bar-entries")
    labels = [label for label, _ in flow]
    assert len(labels) == 24 and len(set(labels)) == 24, labels  # each hour once (no 06:00 twice)
    busy = dict(_bar_values(page, "chart-busy", "bar-entries"))
    per_hour: dict[str, float] = {}
    for label, v in flow:
        per_hour[label] = per_hour.get(label, 0) + v
    assert sum(per_hour.values()) > 0
    for hour, total in per_hour.items():
        assert busy[hour] == total, (hour, busy[hour], total)  # one day: the counts themselves
    # The current hour is not over: marked, in the chart and its table.
    assert page.locator("#chart-flow rect.bar-entries").last.get_attribute("class").endswith("partial")
    assert "(so far)" in page.locator("#chart-flow .chart-table tbody tr").last.text_content()

    page.select_option("#charts-range", "7d")
    page.wait_for_selector("#chart-busy-title:text('over 7 days')")
    days = _bar_values(page, "chart-flow", "bar-entries")
    assert len(days) == 7
    assert page.locator("#chart-flow rect.bar-entries.partial").count() == 1  # today, so far
    assert page.locator("#chart-flow .partial-note").is_visible()


def test_chart_presets_cover_whole_lot_days(seeded: LiveServer, page: Any) -> None:
    sign_in(page, seeded, seeded.new_client())
    page.click("#tabs a[data-view=charts]")
    page.wait_for_selector("#chart-busy svg")
    presets = {
        "today": "hour",
        "yesterday": "hour",
        "this-week": "day",
        "last-week": "day",
        "last-month": "day",
    }
    for preset, interval in presets.items():
        with page.expect_response(
            lambda r, i=interval: "/api/v1/stats" in r.url and f"interval={i}" in r.url
        ) as info:
            page.select_option("#charts-range", preset)
        page.wait_for_selector("#view-charts:not([aria-busy])")
        stats = info.value.json()
        assert stats["buckets"], preset
        first = stats["buckets"][0]["start"]
        assert first[11:19] == "00:00:00", (preset, first)  # starts at the lot's midnight
        if preset == "last-week":
            assert len(stats["buckets"]) == 7
        if preset == "yesterday":
            assert len(stats["buckets"]) in (23, 24, 25)  # DST days
    page.wait_for_selector("#view-charts:not([aria-busy])")
    yesterday_entries = sum(
        1
        for e in seeded.seeded
        if e.type is EventType.ENTRY
        and e.time.astimezone(_lot()).date() == (datetime.now(_lot()) - timedelta(days=1)).date()
    )
    page.select_option("#charts-range", "yesterday")
    page.wait_for_selector(f"#charts-tiles .tile-value >> nth=0 >> text='{yesterday_entries}'")
    # "How busy was <a day>, by hour?": the same day from the date fields, per hour.
    yesterday = (datetime.now(_lot()) - timedelta(days=1)).date().isoformat()
    page.select_option("#charts-range", "custom")
    assert page.locator("#charts-from").is_visible()
    page.fill("#charts-from", yesterday)
    with page.expect_response(lambda r: "/api/v1/stats" in r.url) as info:
        page.fill("#charts-to", yesterday)
    assert info.value.json()["interval"] == "hour"
    page.wait_for_selector("#view-charts:not([aria-busy])")
    page.wait_for_selector(f"#chart-flow-title:text('{yesterday} to {yesterday}')")
    assert page.locator("#charts-tiles .tile-value").first.text_content() == str(yesterday_entries)
    assert page.locator("#chart-flow rect.bar-entries.partial").count() == 0  # a whole day


def _lot() -> Any:
    import pytz

    return pytz.timezone("America/Chicago")


# -- 4. date fields in a US-English browser ----------------------------------------------------------------
@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_date_filters_show_the_whole_time_with_am_pm(
    seeded: LiveServer, browser: Any, page_errors: PageErrors, viewport: dict[str, int] | None
) -> None:
    page = open_page(browser, page_errors, viewport) if viewport else open_page(browser, page_errors)
    try:
        assert page.evaluate("navigator.language") == "en-US"
        sign_in(page, seeded, seeded.new_client())
        for view in ("search", "visits"):
            page.click(f"#tabs a[data-view={view}]")
            for name in ("since", "until"):
                field = page.locator(f"#{view}-form [name={name}]")
                field.fill("2025-03-01T13:30")
                # The field's own (intrinsic) width fits "03/01/2025, 01:30 PM"; narrower cuts AM/PM.
                fits = field.evaluate(
                    """f => { const c = f.cloneNode(); c.value = f.value;
                    c.style.cssText = 'position:absolute;width:auto;min-width:0;max-width:none;visibility:hidden';
                    f.parentNode.append(c); const need = c.offsetWidth; c.remove(); return [f.offsetWidth, need]; }"""
                )
                assert fits[0] >= fits[1], f"{view} {name}: {fits[0]}px shown, {fits[1]}px needed"
    finally:
        page.context.close()
    assert page_errors.errors == []


# -- 5. overstays; Inside refreshes itself, with photos ---------------------------------------------------------
def test_a_car_inside_longer_than_the_longest_stay_shows_as_an_overstay_and_inside_refreshes_itself(
    seeded: LiveServer, page: Any, real_plates: list[RealPlate]
) -> None:
    over = real_plates[30]
    store(
        seeded, [make_event(over.plate, EventType.ENTRY, now_utc() - timedelta(hours=80), snapshot=over.jpeg)]
    )
    sign_in(page, seeded, seeded.new_client())
    page.click("#tabs a[data-view=inside]")
    page.wait_for_selector("#inside-count:text-is('3')")
    section = page.locator("#inside-over")
    assert section.is_visible()
    row = page.locator("#inside-overstays tbody tr")
    assert row.count() == 1 and row.locator(".plate").text_content() == shown_plate(over.plate)
    assert "3 d 8 h" in row.text_content()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#inside-table img.thumb, #inside-overstays img.thumb')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length === 4"
    )

    fresh = real_plates[31]
    seeded.publish(make_event(fresh.plate, EventType.ENTRY, now_utc(), snapshot=fresh.jpeg))
    page.wait_for_selector("#inside-count:text-is('4')", timeout=10_000)  # no click on Refresh
    assert page.locator("#inside-table tbody tr").first.locator(".plate").text_content() == shown_plate(
        fresh.plate
    )


# -- 6. the visits summary and hint, other reads --------------------------------------------------------------
def test_visits_summary_is_over_the_range_and_the_hint_follows_the_dates(
    server: LiveServer, page: Any, real_plates: list[RealPlate]
) -> None:
    now = now_utc()
    events = []
    for i in range(30):  # 30 visits today: 10 of 1 h, 20 of 2 h → 1 h 40 min on average
        plate = real_plates[i].plate
        entry = now - timedelta(hours=20) + timedelta(minutes=20 * i)
        stay = timedelta(hours=1 if i < 10 else 2)
        events += [
            make_event(plate, EventType.ENTRY, entry),
            make_event(plate, EventType.EXIT, min(entry + stay, now)),
        ]
    store(server, events)
    sign_in(page, server, server.new_client())
    page.click("#tabs a[data-view=visits]")
    page.wait_for_selector("#visits-summary:text('30 visits')")
    summary = page.text_content("#visits-summary")
    stays = [
        min(
            timedelta(hours=1 if i < 10 else 2), now - (now - timedelta(hours=20) + timedelta(minutes=20 * i))
        )
        for i in range(30)
    ]
    avg_min = round(sum(s.total_seconds() for s in stays) / 30 / 60)
    assert f"average stay {avg_min // 60} h {avg_min % 60:02d} min" in summary, summary
    assert "this page" not in summary
    assert "last 24 hours" in page.text_content("#visits-hint")

    page.fill(
        "#visits-form [name=since]", (now - timedelta(hours=30)).astimezone(_lot()).strftime("%Y-%m-%dT%H:%M")
    )
    page.click("#visits-form button[type=submit]")
    page.wait_for_selector("#view-visits:not([aria-busy])")
    hint = page.text_content("#visits-hint")
    assert "last 24 hours" not in hint and "from" in hint, hint


def test_other_reads_leave_out_the_plate_itself(
    server: LiveServer, page: Any, real_plates: list[RealPlate]
) -> None:
    rp = real_plates[2]
    ev = make_event(rp.plate, EventType.ENTRY, now_utc() - timedelta(minutes=3), snapshot=rp.jpeg)
    ev = ev.model_copy(
        update={
            "candidates": (
                Candidate(text=rp.plate, confidence=0.93),
                Candidate(text="ZZZ9999", confidence=0.3),
            )
        }
    )
    server.ingest(ev)
    sign_in(page, server, server.new_client())
    page.locator("#live-list .snap-button").first.click()
    page.wait_for_selector("#detail[open]")
    facts = page.locator("#detail .facts").inner_text()
    other = facts.split("Other reads", 1)[1]
    assert "ZZZ-9999" in other and shown_plate(rp.plate) not in other, other


# -- feedback: loading ---------------------------------------------------------------------------------------
def test_every_view_shows_it_is_loading_while_a_request_is_held_back(seeded: LiveServer, page: Any) -> None:
    sign_in(page, seeded, seeded.new_client())
    page.wait_for_selector("#live-status.on")
    held: list[Any] = []
    views = {
        "search": "**/api/v1/events?*",
        "visits": "**/api/v1/visits?*",
        "inside": "**/api/v1/occupancy*",
        "charts": "**/api/v1/stats?*",
    }
    for view, pattern in views.items():
        page.route(pattern, lambda route: held.append(route))
        page.click(f"#tabs a[data-view={view}]")
        page.wait_for_function("() => true")
        section = page.locator(f"#view-{view}")
        page.wait_for_selector(f"#view-{view}[aria-busy=true]")
        assert section.locator(".loading-note").text_content() == "Loading…"
        buttons = section.locator("form button[type=submit], .view-head button")
        for i in range(buttons.count()):
            assert buttons.nth(i).is_disabled(), f"{view}: a button stays enabled while loading"
        while held:
            held.pop().continue_()
        page.unroute(pattern)
        page.wait_for_selector(f"#view-{view}:not([aria-busy])")
        assert section.locator(".loading-note").text_content() == ""


# -- photos, zoom, time zone ------------------------------------------------------------------------------------
@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_visits_have_photos_and_the_zoom_shows_full_resolution_by_keyboard_too(
    seeded: LiveServer, browser: Any, page_errors: PageErrors, viewport: dict[str, int] | None
) -> None:
    page = open_page(browser, page_errors, viewport) if viewport else open_page(browser, page_errors)
    try:
        sign_in(page, seeded, seeded.new_client())
        page.click("#tabs a[data-view=visits]")
        page.wait_for_selector("#visits-summary:text('10 visits')")
        page.wait_for_function(
            "() => [...document.querySelectorAll('#visits-table img.thumb')].filter(i => i.complete && i.naturalWidth > 0).length === 10"
        )
        button = page.locator("#visits-table .snap-button").first
        button.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("#detail[open] .zoom img.full")
        page.wait_for_function(
            "() => { const i = document.querySelector('#detail img.full'); return i.complete && i.naturalWidth > 0 }"
        )
        img = page.locator("#detail img.full")
        natural = img.evaluate("i => i.naturalWidth")
        page.locator("#detail .zoom").focus()
        page.keyboard.press("+")
        assert page.locator("#detail .zoom.zoomed").count() == 1
        assert img.evaluate("i => i.getBoundingClientRect().width") == natural  # 1:1, every pixel
        page.keyboard.press("-")
        assert img.evaluate("i => i.getBoundingClientRect().width") < natural or natural <= 700
        page.locator("#detail button[aria-pressed]").click()
        assert page.locator("#detail .zoom.zoomed").count() == 1
    finally:
        page.context.close()
    assert page_errors.errors == []


def test_every_page_names_the_lots_time_zone(seeded: LiveServer, page: Any) -> None:
    sign_in(page, seeded, seeded.new_client())
    for view in ("live", "search", "visits", "inside", "charts"):
        page.click(f"#tabs a[data-view={view}]")
        foot = page.locator("#foot")
        assert foot.is_visible() and "America/Chicago" in foot.text_content(), view
        assert page.locator(f"#tabs a[data-view={view}]").get_attribute("aria-current") == "page"
    page.click("#tabs a[data-view=search]")
    assert "America/Chicago" in page.locator("#search-form label.when").first.text_content()


# -- keyboard and screen readers --------------------------------------------------------------------------------
def _contrast(a: list[float], b: list[float]) -> float:
    def lum(rgb: list[float]) -> float:
        c = [x / 255 for x in rgb]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_skip_link_focus_ring_and_new_events_announced(
    seeded: LiveServer, page: Any, real_plates: list[RealPlate]
) -> None:
    sign_in(page, seeded, seeded.new_client())
    page.reload()  # as a keyboard user meets the page: the session stays in the tab
    page.wait_for_selector("#live-status.on")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "skip"
    assert page.locator("#skip").is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert "#main" not in page.url and page.locator("#view-live").is_visible()  # the view stays

    page.click("#tabs a[data-view=search]")
    # focus() does not wait for the view to show; a hidden input keeps the focus on the tab
    page.wait_for_selector("#search-form [name=plate]", state="visible")
    page.focus("#search-form [name=plate]")
    assert page.evaluate("document.activeElement.name") == "plate"
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor.match(/\\d+/g).map(Number)] }"
    )
    assert ring[0] == "solid" and ring[1] >= 2, ring
    for background in ([255, 255, 255], [243, 245, 248]):  # the card and the page
        assert _contrast(ring[2][:3], background) >= 3, ring

    page.click("#tabs a[data-view=live]")
    page.wait_for_selector("#live-status.on")
    rp = real_plates[25]
    seeded.publish(make_event(rp.plate, EventType.ENTRY, now_utc()))
    page.wait_for_selector(f"#live-announce:text('{shown_plate(rp.plate)}')")
    assert page.get_attribute("#live-announce", "aria-live") == "polite"
    assert page.text_content("#live-announce").startswith("Entry:")

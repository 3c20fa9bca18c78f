"""axe-core (from the npm registry, locked in tests/web/package-lock.json, installed by scripts/browser.sh)
over every view of the app at desktop and phone size, signed in with data: no violation of impact
serious or critical. Each state is also saved as a screenshot under tests/artifacts/web/."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import ARTIFACTS, LiveServer, PageErrors, open_page, shot, sign_in

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
BLOCKING = ("serious", "critical")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core in the page (evaluated over the DevTools protocol: the app's CSP stays on)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => "
        "({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"
    )
    return list(result)


def images_loaded(page: Any, selector: str) -> None:
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)", arg=selector
    )


def states(page: Any, server: LiveServer) -> list[tuple[str, Callable[[], None]]]:
    """Every view, loaded, in the order a person would click through them."""

    def tab(view: str, ready: str) -> Callable[[], None]:
        def go() -> None:
            if page.locator("#detail[open]").count():
                page.click("#detail-close")
            page.click(f"#tabs a[data-view={view}]")
            page.wait_for_selector(ready)
            page.wait_for_selector(f"#view-{view}:not([aria-busy])")
            images_loaded(page, f"#view-{view} img")

        return go

    def vehicle() -> None:
        page.click("#tabs a[data-view=visits]")
        page.locator("#visits-table tbody tr .plate").first.click()
        page.wait_for_selector("#view-vehicle:not([hidden]) #vehicle-tiles .tile")
        page.wait_for_selector("#view-vehicle:not([aria-busy])")
        images_loaded(page, "#view-vehicle img")

    def visit() -> None:
        page.click("#tabs a[data-view=visits]")
        page.locator("#visits-table tbody tr button:text('Open')").first.click()
        page.wait_for_function("() => document.querySelectorAll('#detail .event-card').length === 2")
        images_loaded(page, "#detail img")

    def corrections() -> None:
        page.click("#detail-close")
        page.locator("#visits-table tbody tr", has_text="Parked").locator("button:text('Open')").first.click()
        page.wait_for_function("() => document.querySelectorAll('#detail .event-card').length === 1")
        page.click("#detail button:text('Merge with…')")
        page.wait_for_selector("#detail .merge-list li")
        page.locator("#detail .event-card button:text('Correct plate')").click()
        page.wait_for_selector("#detail .correct-form:not([hidden])")
        images_loaded(page, "#detail img")

    def zoom() -> None:
        page.click("#detail-close")
        page.locator("#visits-table .snap-button").first.click()
        page.wait_for_selector("#detail[open] .zoom img.full")
        images_loaded(page, "#detail img")

    def chart_table() -> None:
        page.locator("#chart-flow .chart-table summary").click()

    def ticket() -> None:
        page.click("#tabs a[data-view=visits]")
        page.locator("#visits-table tbody tr button:text('Open')").first.click()
        page.locator("#detail button", has_text="Ticket ").click()
        page.wait_for_selector("#view-ticket:not([hidden]) .ticket-facts")
        page.wait_for_selector("#view-ticket:not([aria-busy])")

    return [
        ("live", tab("live", "#live-list > li")),
        ("search", tab("search", "#search-table tbody tr")),
        ("visits", tab("visits", "#visits-table tbody tr")),
        ("inside", tab("inside", "#inside-table tbody tr")),
        ("vehicle", vehicle),
        ("visit", visit),
        ("corrections", corrections),
        ("zoom", zoom),
        ("charts", tab("charts", "#chart-busy svg")),
        ("charts-table", chart_table),
        ("alerts", tab("alerts", "#alerts-empty:not([hidden])")),
        ("fees", tab("fees", "#fees-tiles .tile")),
        ("ticket", ticket),
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_no_serious_or_critical_accessibility_violation_in_any_view(
    seeded: LiveServer, browser: Any, page_errors: PageErrors, size: str
) -> None:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: scripts/browser.sh installs axe-core (npm ci in tests/web)")
    page = open_page(browser, page_errors, SIZES[size])
    found: dict[str, list[dict[str, Any]]] = {}
    try:
        page.goto(f"{seeded.base_url}/")
        page.wait_for_selector("#view-signin:not([hidden])")
        found["sign-in"] = axe_violations(page)
        shot(page, f"{size}-sign-in", full_page=False)
        sign_in(page, seeded, seeded.new_client())
        for name, reach in states(page, seeded):
            reach()
            found[name] = axe_violations(page)
            shot(page, f"{size}-{name}", full_page=name not in ("visit", "corrections", "zoom"))
    finally:
        page.context.close()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)  # every finding, minor ones too, for people to read
    (ARTIFACTS / f"axe-{size}.json").write_text(json.dumps(found, indent=1))
    assert len(found) == 14 and all(isinstance(v, list) for v in found.values())
    blocking = {name: [v for v in vs if v["impact"] in BLOCKING] for name, vs in found.items() if vs}
    blocking = {k: v for k, v in blocking.items() if v}
    assert blocking == {}, blocking
    assert page_errors.errors == []


def test_axe_finds_what_the_owner_found_before_the_fixes(server: LiveServer, page: Any) -> None:
    """The check can fail: the old badge colours and an unnamed chart, put back into the page, are found."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: scripts/browser.sh installs axe-core (npm ci in tests/web)")
    page.goto(f"{server.base_url}/")
    page.wait_for_selector("#view-signin:not([hidden])")
    page.evaluate(
        """() => {
        const card = document.querySelector('.signin-card');
        const badge = document.createElement('span');
        badge.textContent = 'Entry';
        badge.style.cssText = 'color:#1a7f37;background:#e6f4ea;font-size:12px;font-weight:600';
        const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
        svg.setAttribute('role', 'img');
        card.append(badge, svg);
    }"""
    )
    found = {v["id"]: v["impact"] for v in axe_violations(page)}
    assert found.get("color-contrast") == "serious" and found.get("svg-img-alt") == "serious", found

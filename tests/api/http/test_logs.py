"""The served API's log holds no plate (the access log drops query strings), and a burst of one
repeated line is logged a few times with a count, not thousands of times."""

from __future__ import annotations

import io
import logging
import time
from datetime import datetime, timedelta, timezone

import httpx

from tests.api.conftest import event
from tests.api.http.conftest import DEVICE_TOKEN, Served

PLATES = ("KLP4821", "ZXQ9035")


def test_no_plate_reaches_the_log(served: Served) -> None:
    headers = served.session()
    at = datetime.now(timezone.utc) - timedelta(minutes=5)
    device = {"X-Device-Token": DEVICE_TOKEN, "Content-Type": "application/json"}
    for plate in PLATES:
        ev = event(plate, at=at)
        resp = httpx.post(f"{served.base_url}/api/v1/ingest", content=ev.model_dump_json(), headers=device)
        assert resp.status_code == 201, resp.text
    with httpx.Client(base_url=served.base_url) as http:
        searches = [
            ("/api/v1/events", {"plate": PLATES[0]}),
            ("/api/v1/events", {"plate": PLATES[1].lower(), "tolerant": "true"}),
            ("/api/v1/visits", {"plate": PLATES[0]}),
            ("/api/v1/export/events.csv", {"plate": PLATES[1]}),
            ("/api/v1/export/visits.csv", {"plate": PLATES[1]}),
        ]
        for path, params in searches:
            assert http.get(path, params=params, headers=headers).status_code == 200
            assert http.get(path, params=params).status_code == 401
        assert (
            http.get(
                "/api/v1/events", params={"plate": PLATES[0], "offset": "-1"}, headers=headers
            ).status_code
            == 422
        )
    time.sleep(0.5)
    log = served.log_text()
    assert '"GET /api/v1/events?… HTTP/1.1" 200' in log, log[-2000:]
    assert '"GET /api/v1/export/visits.csv?… HTTP/1.1" 401' in log
    for plate in PLATES:
        for form in (plate, plate.lower(), plate[:3] + "-" + plate[3:]):
            assert form not in log, f"{form} in the API log"


def test_a_burst_of_one_line_is_limited_and_counted() -> None:
    from services.api.logfilters import RepeatLimiter  # here: the access-log test runs without it

    now = [0.0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatLimiter(window_s=60, burst=5, clock=lambda: now[0]))
    logger = logging.getLogger("tests.repeat")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for _ in range(10_000):
            logger.error("socket.accept() out of system resource: %s", "[Errno 24] Too many open files")
        logger.error("another line")
        now[0] = 61.0
        logger.error("socket.accept() out of system resource: %s", "[Errno 24] Too many open files")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 7, lines
    assert lines[-1].endswith("[and 9995 more like it in 60s]")

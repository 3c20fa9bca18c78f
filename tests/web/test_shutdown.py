"""The records service as `docker stop` meets it: a real `python -m services.api serve` process, a
browser with the live view open, SIGTERM. The process must stop within its graceful-shutdown time
(docker sends SIGKILL after 10 s), and the app must say the service cannot be reached, keep what it
showed, and come back with Retry once the service runs again."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from anpr.messages import EventType, encode
from services.api.auth import NewClient
from tests.api.conftest import PASSPHRASE, TEST_SCRYPT_N, KeyMaterial, RealPlate
from tests.web.conftest import DEVICE_TOKEN, make_event, shot

REPO = Path(__file__).resolve().parents[2]
DOCKER_STOP_S = 10  # docker stop's default grace period before SIGKILL


class ApiProcess:
    """The service as deployed: its own process, configured by the environment only."""

    def __init__(self, db_url: str, keys: KeyMaterial, tmp: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "api.log"
        self.env = {
            **os.environ,
            "ANPR_ENV_FILE": str(tmp / "no.env"),
            "ANPR_ENVIRONMENT": "development",
            "ANPR_TIMEZONE": "America/Chicago",
            "API_DATABASE_URL": db_url,
            "API_PRIVATE_KEY_FILE": str(keys.key_file),
            "API_KEY_PASSPHRASE": PASSPHRASE,
            "API_KEY_SCRYPT_N": str(TEST_SCRYPT_N),
            "API_BLIND_INDEX_KEY": keys.index_key_b64,
            "API_DEVICE_TOKEN": DEVICE_TOKEN,
            "API_MQTT_INGEST": "false",
            "API_PORT": str(self.port),
            "API_DB_WAIT_S": "10",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.api", "serve"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"the API exited at start: {self.log.read_text()[-2000:]}"
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError("the API did not start")

    def new_client(self, name: str) -> NewClient:
        out = subprocess.run(
            [sys.executable, "-m", "services.api", "clients", "create", name, "--no-qr"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        token = re.search(r"API token.*:\n\s+(\S+)", out)
        uri = re.search(r"(otpauth://\S+)", out)
        assert token and uri, out
        return NewClient(name, token.group(1), pyotp.parse_uri(uri.group(1)).secret)

    def stop(self, sig: int = signal.SIGTERM) -> float:
        """Seconds until the process ended after `sig` (SIGKILL and fail after docker's grace period)."""
        assert self.proc is not None
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(DOCKER_STOP_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"still running {DOCKER_STOP_S} s after SIGTERM: docker stop would SIGKILL it")
        return time.monotonic() - t0

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def api_process(web_db: str, key_material: KeyMaterial, tmp_path: Path) -> Iterator[ApiProcess]:
    api = ApiProcess(web_db, key_material, tmp_path)
    api.start()
    try:
        yield api
    finally:
        api.close()


def test_sigterm_ends_the_live_stream_and_the_app_says_the_service_is_unreachable(
    api_process: ApiProcess, page: Any, real_plates: list[RealPlate]
) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for i, rp in enumerate(real_plates[:3]):
        ev = make_event(rp.plate, EventType.ENTRY, now - timedelta(minutes=10 * (i + 1)), snapshot=rp.jpeg)
        resp = httpx.post(
            f"{api_process.base_url}/api/v1/ingest",
            content=encode(ev),
            headers={"X-Device-Token": DEVICE_TOKEN, "Content-Type": "application/json"},
        )
        assert resp.status_code == 201, resp.text
    client = api_process.new_client("owner")
    page.goto(f"{api_process.base_url}/")
    page.fill("#signin-form [name=token]", client.token)
    page.fill("#signin-form [name=code]", pyotp.TOTP(client.totp_secret).now())
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#topbar:not([hidden])")
    page.click("#tabs a[data-view=search]")
    page.wait_for_selector("#search-summary:text('3 events')")
    page.click("#tabs a[data-view=live]")
    page.wait_for_selector("#live-status.on")

    took = api_process.stop(signal.SIGTERM)
    assert api_process.proc is not None
    assert api_process.proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it caught
    assert took < 4, f"SIGTERM took {took:.1f} s"
    log = api_process.log.read_text()
    assert "graceful shutdown exceeded" not in log, "the live stream had to be cancelled: it did not end"
    page.wait_for_selector("#live-status:not(.on)", timeout=10_000)  # no green "live" on a dead service
    page.wait_for_selector("#offline:not([hidden])", timeout=10_000)
    assert "cannot reach the records service" in page.text_content("#offline").lower()

    # Another view: what it showed stays, the message stays (not a banner that fades), Retry is offered.
    page.click("#tabs a[data-view=search]")
    page.click("#search-form button[type=submit]")
    page.wait_for_timeout(9_000)
    assert page.locator("#offline").is_visible()
    assert page.locator("#search-table tbody tr").count() == 3
    assert page.text_content("#search-summary") == "3 events"
    assert "Failed to fetch" not in page.text_content("body")
    shot(page, "api-unreachable")

    api_process.start()
    page.click("#offline button:text('Retry')")
    page.wait_for_selector("#offline", state="hidden")
    page.wait_for_selector("#search-summary:text('3 events')")
    assert page.locator("#search-table tbody tr").count() == 3

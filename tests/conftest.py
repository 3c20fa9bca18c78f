"""Fixtures shared by every test: the real data in ../shared/data and the real servers.

Tests talk to the Mosquitto and MariaDB that run on this machine (`.ci/run` starts them where they
are missing); each test gets its own topic prefix so tests never see each other's messages.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ANPR_SHARED_DATA", REPO.parent / "shared" / "data")).resolve()
MQTT_HOST = os.environ.get("TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("TEST_MQTT_PORT", "1883"))
MARIADB_URL = os.environ.get("TEST_MARIADB_URL", "mysql+aiomysql://root@127.0.0.1:3306/test")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA / "MANIFEST.md").is_file():
        pytest.fail(f"shared test data not found at {DATA} (set ANPR_SHARED_DATA)")
    return DATA


@pytest.fixture(scope="session")
def mqtt_broker() -> tuple[str, int]:
    """The running Mosquitto; a test that needs it fails (not skips) when it is down."""
    if not _reachable(MQTT_HOST, MQTT_PORT):
        pytest.fail(f"Mosquitto not reachable at {MQTT_HOST}:{MQTT_PORT}; .ci/run starts it")
    return MQTT_HOST, MQTT_PORT


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    if not _reachable("127.0.0.1", 3306):
        pytest.fail("MariaDB not reachable at 127.0.0.1:3306; .ci/run starts it")
    return MARIADB_URL


@pytest.fixture
def topic_prefix() -> str:
    """A prefix of this test's own, so parallel or leftover traffic never leaks in."""
    return f"test-{uuid.uuid4().hex[:10]}/anpr/v1"


@pytest.fixture
def mqtt_env(
    monkeypatch: pytest.MonkeyPatch, mqtt_broker: tuple[str, int], topic_prefix: str
) -> dict[str, str]:
    """Environment for a service under test: the real broker, this test's prefix, no stray .env."""
    env = {
        "MQTT_HOST": mqtt_broker[0],
        "MQTT_PORT": str(mqtt_broker[1]),
        "ANPR_TOPIC_PREFIX": topic_prefix,
        "ANPR_ENV_FILE": "/nonexistent/.env",
        "ANPR_ENVIRONMENT": "development",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return env

"""schemathesis against the served API's own OpenAPI description, with a session and the device
token: no server error, and every status and body as documented (schemathesis' default checks:
status codes, content types, headers and bodies as described, auth not ignored, bad input refused),
less `positive_data_acceptance`: some rules span fields or depend on now (since < until, a year per
stats request, event times near the present), which JSON Schema cannot state, so a schema-valid
request may rightly get its documented 422.

Bounded: `FUZZ_EXAMPLES` per operation (env `TEST_FUZZ_EXAMPLES` raises it for a longer run). The
live stream (GET /api/v1/events/stream) is left out: it never ends by design. The figures (requests,
statuses) are read back from the served access log and printed.
"""

from __future__ import annotations

import os
import re
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.http.conftest import DEVICE_TOKEN, Served

FUZZ_EXAMPLES = int(os.environ.get("TEST_FUZZ_EXAMPLES", "40"))
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3})')


@pytest.fixture(scope="session")
def api_schema(served: Served) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{served.base_url}/openapi.json")
    return schema.exclude(path="/api/v1/events/stream")


@pytest.fixture(scope="session")
def credentials(served: Served) -> dict[str, str]:
    return served.session() | {"X-Device-Token": DEVICE_TOKEN}


def _fuzz(operation, served: Served, credentials: dict[str, str]) -> None:  # noqa: ANN001
    @given(case=operation.as_strategy())
    @settings(
        max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case: schemathesis.Case) -> None:
        headers = dict(credentials)
        if operation.path == "/api/v1/auth/logout":
            headers |= served.session()  # its own session: logging out must not end the shared one
        case.call_and_validate(
            base_url=served.base_url, headers=headers, excluded_checks=[positive_data_acceptance]
        )

    run()


def test_the_api_answers_as_documented(
    api_schema: schemathesis.BaseSchema, served: Served, credentials: dict[str, str]
) -> None:
    """(pytest 9 cannot run schemathesis' own pytest loader, so each operation is driven here.)"""
    failures = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        try:
            _fuzz(operation, served, credentials)
        except (
            BaseException
        ) as exc:  # every operation runs; failures (exception groups) are reported together
            if isinstance(exc, KeyboardInterrupt):
                raise
            failures[f"{operation.method.upper()} {operation.path}"] = str(exc)[:3000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_fuzz_figures(served: Served) -> None:
    """Runs after the fuzz (same module, defined later): the served log's count of what it answered."""
    statuses: Counter[str] = Counter()
    per_route: Counter[str] = Counter()
    for m in _ACCESS.finditer(served.log_text()):
        statuses[m["status"]] += 1
        per_route[f"{m['method']} {_UUID.sub('{id}', m['path'].split('?')[0])}"] += 1
    print(f"\nfuzz: {sum(statuses.values())} requests; statuses {dict(sorted(statuses.items()))}")
    print("per route:", dict(sorted(per_route.items())))
    assert sum(statuses.values()) > 100
    assert not [s for s in statuses if s.startswith("5") and s != "503"], statuses
    assert "Exception in ASGI application" not in served.log_text()

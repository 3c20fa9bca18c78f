"""AlertMessage: one topic, a round trip through JSON, and what it refuses."""

from __future__ import annotations

import json
import uuid

import pytest

from anpr.messages import AlertKind, AlertMessage, BadMessage, Kind, decode, encode, topic, utcnow


def _alert(**change: object) -> AlertMessage:
    fields: dict = {
        "alert_id": uuid.uuid4(),
        "kind": AlertKind.LISTED,
        "plate": "ABC1284",
        "list_kind": "deny",
    }
    return AlertMessage(**(fields | {"at": utcnow()} | change))


def test_alerts_have_one_global_topic_and_round_trip() -> None:
    assert topic("anpr/v1", Kind.ALERTS) == "anpr/v1/alerts"
    alert = _alert(event_id=uuid.uuid4(), camera="gate", detail="on the deny list as ABC1234")
    assert decode(AlertMessage, encode(alert)) == alert
    assert json.loads(encode(alert))["schema_version"] == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"list_kind": "member"}, "list_kind"),  # only deny and watch lists raise alerts
        ({"kind": "speeding"}, "kind"),
        ({"plate": "abc-1284"}, "plate"),
        ({"at": "2026-11-24T08:03:21"}, "at"),  # a time without zone
        ({"detail": "x" * 256}, "detail"),
    ],
)
def test_a_bad_alert_is_a_bad_message_naming_the_field(change: dict, error: str) -> None:
    wire = json.loads(encode(_alert())) | change
    with pytest.raises(BadMessage, match=f"^invalid AlertMessage: 1 error\\(s\\): {error}"):
        decode(AlertMessage, json.dumps(wire))

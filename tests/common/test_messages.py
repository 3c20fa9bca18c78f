from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from anpr.messages import (
    MODEL_OF,
    BadMessage,
    Box,
    EventMessage,
    EventType,
    FrameMessage,
    Kind,
    VehicleClass,
    decode,
    encode,
    topic,
)

T0 = datetime(2026, 11, 24, 8, 3, 21, tzinfo=timezone.utc)


def _frame(**kw: object) -> FrameMessage:
    base = dict(camera="gate", seq=3, captured_at=T0, width=4, height=2, jpeg=b"\xff\xd8jpeg\xff\xd9")
    return FrameMessage(**(base | kw))


def test_topics_are_built_in_one_place() -> None:
    assert topic("anpr/v1", Kind.FRAMES, "gate") == "anpr/v1/frames/gate"
    assert topic("anpr/v1/", Kind.EVENTS) == "anpr/v1/events"
    assert topic("site", Kind.STATUS, "ocr") == "site/status/ocr"
    with pytest.raises(ValueError, match="needs a camera"):
        topic("anpr/v1", Kind.READS)
    with pytest.raises(ValueError, match="takes no name"):
        topic("anpr/v1", Kind.EVENTS, "gate")


def test_frame_round_trip_keeps_binary_jpeg() -> None:
    frame = _frame()
    wire = encode(frame)
    assert json.loads(wire)["jpeg"] == base64.urlsafe_b64encode(frame.jpeg).decode()  # RFC 4648 §5
    assert decode(FrameMessage, wire) == frame


def test_every_kind_has_a_versioned_model() -> None:
    assert set(MODEL_OF) == set(Kind)
    for model in MODEL_OF.values():
        assert model.model_fields["schema_version"].default == 1


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"{",
        b"not json at all",
        b"\xff\xfe\x00garbage",
        b'{"camera": "gate"}',
        encode(_frame())[:-7],  # truncated
        encode(_frame()).replace(b'"schema_version":1', b'"schema_version":2'),  # a future version
        encode(_frame()).replace(
            b'"captured_at":"2026-11-24T08:03:21Z"', b'"captured_at":"2026-11-24T08:03:21"'
        ),
    ],
    ids=["empty", "brace", "text", "binary", "missing-fields", "truncated", "future-version", "naive-time"],
)
def test_bad_payloads_raise_bad_message_only(payload: bytes) -> None:
    with pytest.raises(BadMessage):
        decode(FrameMessage, payload)


def test_messages_are_frozen_and_strict() -> None:
    frame = _frame()
    with pytest.raises(ValidationError, match="frozen"):
        frame.seq = 4  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs"):
        FrameMessage(**(frame.model_dump() | {"unexpected": 1}))
    with pytest.raises(ValidationError, match="pattern"):
        _frame(camera="gate/../x")  # a camera id becomes part of a topic: no slashes


def test_event_gets_a_uuid_and_validates_plate_text() -> None:
    kw = dict(
        type=EventType.ENTRY,
        plate="ABC1234",
        confidence=0.9,
        camera="gate",
        time=T0,
        first_seen=T0,
        last_seen=T0,
        vehicle_class=VehicleClass.CAR,
        read_count=3,
    )
    a, b = EventMessage(**kw), EventMessage(**kw)
    assert a.event_id != b.event_id
    with pytest.raises(ValidationError, match="pattern"):
        EventMessage(**(kw | {"plate": "abc-1234"}))


def test_box_helpers() -> None:
    box = Box(x=10, y=20, w=30, h=40)
    assert box.xyxy == (10, 20, 40, 60)
    assert box.offset(5, 5).xyxy == (15, 25, 45, 65)

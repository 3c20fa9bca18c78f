from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from anpr.messages import (
    MODEL_OF,
    PIXELS_MAX,
    TIME_MAX,
    TIME_MIN,
    BadMessage,
    Box,
    EventMessage,
    EventType,
    FrameMessage,
    Kind,
    ReadsMessage,
    StatusMessage,
    VehicleClass,
    VehiclesMessage,
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


_EVENT = dict(
    type="entry",
    plate="ABC1234",
    confidence=0.9,
    camera="gate",
    time="2026-11-24T08:03:21Z",
    first_seen="2026-11-24T08:03:19Z",
    last_seen="2026-11-24T08:03:22Z",
    vehicle_class="car",
    read_count=3,
)


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC: converting it would overflow
        "9999-12-31T23:59:59-01:00",  # year 10000 in UTC
        "1969-12-31T23:59:59Z",
        "2100-01-01T00:00:00Z",
    ],
)
@pytest.mark.parametrize("kind", [FrameMessage, VehiclesMessage, ReadsMessage, EventMessage, StatusMessage])
def test_times_out_of_range_are_a_bad_message_in_every_kind(kind: type, at: str) -> None:
    time_fields = {
        FrameMessage: {"camera": "gate", "seq": 0, "width": 4, "height": 2, "jpeg": "", "captured_at": at},
        VehiclesMessage: {"camera": "gate", "seq": 0, "width": 4, "height": 2, "captured_at": at},
        ReadsMessage: {"camera": "gate", "seq": 0, "captured_at": at},
        EventMessage: _EVENT | {"time": at, "first_seen": at, "last_seen": at},
        StatusMessage: {"service": "ocr", "state": "online", "at": at},
    }[kind]
    with pytest.raises(BadMessage, match="time must be from 1970-01-01"):
        decode(kind, json.dumps(time_fields))


def test_times_are_normalised_to_utc_and_bounds_are_inclusive_below() -> None:
    msg = decode(
        ReadsMessage, json.dumps({"camera": "g", "seq": 0, "captured_at": "2026-11-24T09:03:21+01:00"})
    )
    assert msg.captured_at == T0 and msg.captured_at.utcoffset() == timedelta(0)
    low = decode(ReadsMessage, json.dumps({"camera": "g", "seq": 0, "captured_at": "1970-01-01T00:00:00Z"}))
    assert low.captured_at == TIME_MIN
    assert (
        ReadsMessage(camera="g", seq=0, captured_at=TIME_MAX - timedelta(microseconds=1)).captured_at.year
        == 2099
    )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"read_count": 2**31}, "read_count"),  # the records service's column is a signed 32-bit int
        ({"read_count": 0}, "read_count"),
        ({"first_seen": "2026-11-24T08:03:23Z"}, "first_seen <= time <= last_seen"),
        ({"last_seen": "2026-11-24T08:03:20Z"}, "first_seen <= time <= last_seen"),
        ({"confidence": False}, "confidence: Value error, must be a number"),
        ({"confidence": True}, "confidence: Value error, must be a number"),
        ({"confidence": "0.9"}, "confidence: Value error, must be a number"),
        ({"candidates": [{"text": "ABC1234", "confidence": 0.5}] * 33}, "candidates"),
        ({"candidates": [{"text": "ABC1234", "confidence": False}]}, "must be a number"),
    ],
)
def test_event_fields_the_database_cannot_hold_are_a_bad_message(change: dict, error: str) -> None:
    assert decode(EventMessage, json.dumps(_EVENT)).read_count == 3
    with pytest.raises(BadMessage, match=re.escape(error)):
        decode(EventMessage, json.dumps(_EVENT | change))


def test_boxes_and_sizes_are_bounded_by_what_a_jpeg_can_declare() -> None:
    assert Box(x=PIXELS_MAX, y=0, w=PIXELS_MAX, h=1).w == PIXELS_MAX
    with pytest.raises(ValidationError):
        Box(x=0, y=0, w=PIXELS_MAX + 1, h=1)
    with pytest.raises(ValidationError):
        _frame(width=10**30)

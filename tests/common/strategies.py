"""Hypothesis strategies for every bus message, with schema-valid extremes: times at the bounds and
in odd offsets, sizes from 1 to 65535, empty and full tuples, boxes at the edge of any JPEG, longest
strings, JPEGs that are garbage, tiny, or lie about their size. Every drawn message is valid."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from anpr.messages import (
    CANDIDATES_MAX,
    PIXELS_MAX,
    TIME_MAX,
    TIME_MIN,
    Box,
    Candidate,
    EventMessage,
    EventType,
    FrameMessage,
    Message,
    PlateRead,
    ReadsMessage,
    ServiceState,
    StatusMessage,
    VehicleClass,
    VehicleCrop,
    VehiclesMessage,
    decode,
    encode,
)
from tests.common.jpegs import declaring, tiny_jpeg

LAST = TIME_MAX - timedelta(microseconds=1)
NOW = datetime.now(timezone.utc)

offsets = st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=14)), timezone(-timedelta(hours=12, minutes=59))]
)


def _clamped(at: datetime) -> datetime:
    return min(max(at, TIME_MIN), LAST)


@st.composite
def times(draw: st.DrawFn, near: datetime = NOW) -> datetime:
    """Any time the bus takes, shown in some zone: the bounds themselves, around `near` (where the
    stages believe it), or anywhere between."""
    utc = draw(
        st.one_of(
            st.sampled_from([TIME_MIN, LAST]),
            st.floats(-3 * 86400.0 * 365, 2 * 86400.0).map(lambda s: _clamped(near + timedelta(seconds=s))),
            st.datetimes(TIME_MIN.replace(tzinfo=None), LAST.replace(tzinfo=None)).map(
                lambda d: d.replace(tzinfo=timezone.utc)
            ),
        )
    )
    return utc.astimezone(draw(offsets))


cameras = st.one_of(st.sampled_from(["gate", "lane"]), st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True))
seqs = st.one_of(st.integers(0, 2**63), st.just(10**30))
sides = st.one_of(st.sampled_from([1, PIXELS_MAX]), st.integers(1, PIXELS_MAX))
pixels = st.one_of(st.sampled_from([0, PIXELS_MAX]), st.integers(0, PIXELS_MAX))
confidences = st.one_of(st.sampled_from([0.0, 1.0, 5e-324]), st.floats(0.0, 1.0))
track_ids = st.one_of(st.none(), st.integers(-(2**63), 2**63), st.just(10**40))
jpegs = st.one_of(
    st.binary(max_size=64),
    st.just(tiny_jpeg()),
    st.sampled_from([declaring(PIXELS_MAX, PIXELS_MAX), declaring(20000, 20000), declaring(1, 1)]),
)
boxes = st.builds(Box, x=pixels, y=pixels, w=sides, h=sides)
plates = st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)
candidates = st.builds(Candidate, text=st.text(min_size=1, max_size=16), confidence=confidences)
candidate_tuples = st.one_of(
    st.just(()),
    st.lists(candidates, max_size=3).map(tuple),
    st.lists(candidates, min_size=CANDIDATES_MAX, max_size=CANDIDATES_MAX).map(tuple),
)
snapshots = st.one_of(st.none(), st.just(b""), st.just(tiny_jpeg()), st.just(b"\xff" * 70_000))


def _of_a_frame(draw: st.DrawFn) -> dict[str, object]:
    """The fields every per-frame message has."""
    return {
        "camera": draw(cameras),
        "seq": draw(seqs),
        "captured_at": draw(times()),
        "end_of_stream": draw(st.booleans()),
    }


@st.composite
def frames(draw: st.DrawFn, jpeg: st.SearchStrategy[bytes] = jpegs) -> FrameMessage:
    return FrameMessage(**_of_a_frame(draw), width=draw(sides), height=draw(sides), jpeg=draw(jpeg))


def vehicle_crops(jpeg: st.SearchStrategy[bytes] = jpegs) -> st.SearchStrategy[VehicleCrop]:
    return st.builds(
        VehicleCrop,
        vehicle_class=st.sampled_from(VehicleClass),
        confidence=confidences,
        track_id=track_ids,
        box=boxes,
        crop_box=boxes,
        jpeg=jpeg,
    )


@st.composite
def vehicles_messages(
    draw: st.DrawFn, crops: st.SearchStrategy[VehicleCrop] | None = None
) -> VehiclesMessage:
    vehicles = tuple(draw(st.lists(vehicle_crops() if crops is None else crops, max_size=3)))
    return VehiclesMessage(**_of_a_frame(draw), width=draw(sides), height=draw(sides), vehicles=vehicles)


@st.composite
def plate_reads(draw: st.DrawFn, at: datetime) -> PlateRead:
    return PlateRead(
        text=draw(st.text(min_size=1, max_size=16)),
        normalized=draw(plates),
        confidence=draw(confidences),
        candidates=draw(candidate_tuples),
        plate_box=draw(st.none() | boxes),
        vehicle_box=draw(boxes),
        vehicle_class=draw(st.sampled_from(VehicleClass)),
        track_id=draw(track_ids),
        engine=draw(st.text(min_size=1, max_size=32)),
        captured_at=draw(
            st.one_of(st.just(at), times(near=at))
        ),  # mostly the frame's time, as the OCR stamps
        snapshot_jpeg=draw(snapshots),
    )


@st.composite
def reads_messages(draw: st.DrawFn) -> ReadsMessage:
    at = draw(times())
    return ReadsMessage(
        camera=draw(cameras),
        seq=draw(seqs),
        captured_at=at,
        reads=tuple(draw(st.lists(plate_reads(at), max_size=4))),
        end_of_stream=draw(st.booleans()),
    )


@st.composite
def events(draw: st.DrawFn) -> EventMessage:
    first, time, last = sorted(draw(st.lists(times(), min_size=3, max_size=3)))
    return EventMessage(
        event_id=draw(st.uuids()),
        type=draw(st.sampled_from(EventType)),
        plate=draw(plates),
        confidence=draw(confidences),
        camera=draw(cameras),
        time=time,
        first_seen=first,
        last_seen=last,
        vehicle_class=draw(st.sampled_from(VehicleClass)),
        read_count=draw(st.one_of(st.sampled_from([1, 2**31 - 1]), st.integers(1, 2**31 - 1))),
        candidates=draw(candidate_tuples),
        snapshot_jpeg=draw(st.one_of(st.none(), st.just(b""), st.just(tiny_jpeg()))),
    )


statuses = st.builds(
    StatusMessage,
    service=st.text(min_size=1, max_size=64),
    state=st.sampled_from(ServiceState),
    at=times(),
    detail=st.one_of(st.just(""), st.text(max_size=1024), st.just("x" * 1024)),
)


def fuzz_settings(max_examples: int) -> settings:
    """Bounded for CI; no deadline (a model's first call is slow), large messages allowed."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def over_the_wire(message: Message) -> Message:
    """The message as a consumer over MQTT gets it: encoded, then parsed and validated again."""
    again = decode(type(message), encode(message))
    assert again == message
    return again

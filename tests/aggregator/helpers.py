"""Reads and frames at chosen seconds of one footage, for the aggregator tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from anpr.messages import Box, Candidate, EventMessage, PlateRead, ReadsMessage, VehicleClass
from services.aggregator.sightings import Aggregator

T0 = datetime(2025, 3, 3, 14, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def plate_read(
    plate: str,
    seconds: float,
    confidence: float = 0.9,
    *,
    track: int | None = None,
    vehicle_class: VehicleClass = VehicleClass.CAR,
    snapshot: bytes | None = None,
) -> PlateRead:
    return PlateRead(
        text=plate,
        normalized=plate,
        confidence=confidence,
        candidates=(Candidate(text=plate, confidence=confidence),),
        vehicle_box=Box(x=10, y=20, w=300, h=200),
        vehicle_class=vehicle_class,
        track_id=track,
        engine="test",
        captured_at=at(seconds),
        snapshot_jpeg=snapshot,
    )


class Feed:
    """Frames of one camera, numbered in the order they are sent."""

    def __init__(self, aggregator: Aggregator, camera: str = "gate") -> None:
        self.aggregator = aggregator
        self.camera = camera
        self.seq = 0
        self.events: list[EventMessage] = []

    def message(self, seconds: float, reads: Iterable[PlateRead] = (), eos: bool = False) -> ReadsMessage:
        msg = ReadsMessage(
            camera=self.camera, seq=self.seq, captured_at=at(seconds), reads=tuple(reads), end_of_stream=eos
        )
        self.seq += 1
        return msg

    def frame(
        self,
        seconds: float,
        *plates: str | PlateRead,
        confidence: float = 0.9,
        track: int | None = None,
        eos: bool = False,
    ) -> list[EventMessage]:
        reads = [
            p if isinstance(p, PlateRead) else plate_read(p, seconds, confidence, track=track) for p in plates
        ]
        out = self.aggregator.process(self.message(seconds, reads, eos))
        self.events += out
        return out

    def end(self, seconds: float) -> list[EventMessage]:
        return self.frame(seconds, eos=True)

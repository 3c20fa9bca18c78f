"""Aggregator outbox: cost per event with thousands waiting, the SQLite outbox against the JSON state
file that used to hold it (rewritten whole on every change, so n events cost O(n²) bytes written).

    PYTHONPATH=. python benchmarks/outbox_bench.py [--events 5000] [--json-events 400] [--snapshot-bytes 20000]

Each event is added in its own durable transaction (as the aggregator does when a sighting closes);
then all are marked sent, then each is acknowledged in its own transaction. The JSON column adds
events to the old `State.outbox` and saves the file after each one, up to `--json-events`.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from anpr.messages import EventMessage, EventType, VehicleClass
from services.aggregator.outbox import Outbox
from services.aggregator.state import State, StateFile

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=timezone.utc)


def events(n: int, snapshot_bytes: int) -> list[EventMessage]:
    rng = random.Random(1)
    snapshot = bytes(rng.getrandbits(8) for _ in range(snapshot_bytes))
    out = []
    for i in range(n):
        t = T0 + timedelta(seconds=17 * i)
        plate = "".join(rng.choice("ACDEFHJKLMNPRTUVWXY3479") for _ in range(7))
        out.append(
            EventMessage(
                type=EventType.ENTRY if i % 2 == 0 else EventType.EXIT,
                plate=plate,
                confidence=0.9,
                camera="gate",
                time=t,
                first_seen=t,
                last_seen=t,
                vehicle_class=VehicleClass.CAR,
                read_count=3,
                snapshot_jpeg=snapshot,
            )
        )
    return out


def bench_sqlite(evs: list[EventMessage], folder: Path) -> None:
    outbox = Outbox(folder / "outbox.sqlite")
    began = time.perf_counter()
    marks = {}
    for i, e in enumerate(evs, 1):
        outbox.add([e])
        if i in (len(evs) // 10, len(evs)):
            marks[i] = time.perf_counter()
    add_s = time.perf_counter() - began
    first_tenth = marks[len(evs) // 10] - began
    last_tenth = marks[len(evs)] - marks[len(evs) // 10]
    began = time.perf_counter()
    sent = 0
    while batch := outbox.due(500, resends=False):
        outbox.mark_sent([e.event_id for e in batch], 120)
        sent += len(batch)
    send_s = time.perf_counter() - began
    began = time.perf_counter()
    for e in evs:
        outbox.remove([e.event_id])
    ack_s = time.perf_counter() - began
    n = len(evs)
    print(f"sqlite outbox, {n} events: add {add_s / n * 1000:.2f} ms/event "
          f"(first 10%: {first_tenth / (n // 10) * 1000:.2f} ms, last 90%: {last_tenth / (n - n // 10) * 1000:.2f} ms), "
          f"pick+mark sent {send_s / n * 1000:.3f} ms/event, ack {ack_s / n * 1000:.2f} ms/event; "
          f"outbox empty: {outbox.count() == 0}")  # fmt: skip


def bench_json(evs: list[EventMessage], folder: Path) -> None:
    state, file = State(), StateFile(folder / "aggregator.json")
    began = time.perf_counter()
    last = began
    for i, e in enumerate(evs, 1):
        state.outbox.append(e)
        file.save(state)
        if i % (len(evs) // 4) == 0:
            now = time.perf_counter()
            print(
                f"json state file: events {i - len(evs) // 4 + 1}-{i}: {(now - last) / (len(evs) // 4) * 1000:.1f} ms/event"
            )
            last = now
    print(f"json state file, {len(evs)} events: {(time.perf_counter() - began):.1f} s in all")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--json-events", type=int, default=400)
    parser.add_argument("--snapshot-bytes", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench_sqlite(events(args.events, args.snapshot_bytes), Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        bench_json(events(args.json_events, args.snapshot_bytes), Path(tmp))


if __name__ == "__main__":
    main()

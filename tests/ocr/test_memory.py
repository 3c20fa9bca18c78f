"""The bounded memory of tracks that decides which frames of a track are read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import pairwise

from anpr.messages import Box
from services.ocr.memory import TrackReads

T = datetime(2026, 1, 5, tzinfo=timezone.utc)
AREA = 10_000


def after(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def test_remembers_until_unseen_for_too_long() -> None:
    memory = TrackReads(capacity=10, forget_s=5)
    assert memory.wants(("a", 1), AREA, T)
    memory.read(("a", 1), AREA, T, confident=True)
    assert not memory.wants(("a", 1), AREA, after(4))
    assert not memory.wants(("a", 1), AREA, after(8))  # seen at 4 s: the gap is 4 s
    assert memory.wants(("a", 1), AREA, after(14))
    assert len(memory) == 0


def test_read_on_every_frame_until_a_confident_read() -> None:
    memory = TrackReads(capacity=10, forget_s=5, regrow=0.3, max_confident=3)
    for i in range(5):
        assert memory.wants(("a", 1), AREA, after(i / 10))
        memory.read(("a", 1), AREA, after(i / 10), confident=False)
    memory.read(("a", 1), AREA, after(0.5), confident=True)
    assert not memory.wants(("a", 1), AREA, after(0.6))


def test_a_confident_track_is_read_again_when_its_box_grew() -> None:
    """The car far away read confidently (and maybe wrongly) is read again as it comes closer."""
    memory = TrackReads(capacity=10, forget_s=5, regrow=0.3, max_confident=3)
    memory.read(("a", 1), AREA, T, confident=True)
    assert not memory.wants(("a", 1), int(AREA * 1.29), after(0.1))
    assert memory.wants(("a", 1), int(AREA * 1.3), after(0.2))
    memory.read(("a", 1), int(AREA * 1.3), after(0.2), confident=False)
    assert memory.wants(("a", 1), int(AREA * 1.3), after(0.3))  # not confident: the growth still counts
    memory.read(("a", 1), int(AREA * 1.3), after(0.3), confident=True)
    assert not memory.wants(("a", 1), int(AREA * 1.5), after(0.4))  # measured from the new read's box
    assert memory.wants(("a", 1), int(AREA * 1.3 * 1.3), after(0.5))
    assert memory.wants(("a", 2), AREA, after(0.5))  # another track has its own reads


def test_confident_reads_per_track_never_exceed_the_budget() -> None:
    memory = TrackReads(capacity=10, forget_s=5, regrow=0.1, max_confident=4)
    area, confident = AREA, 0
    for i in range(200):  # a car coming closer on every frame, each read confident
        area = int(area * 1.05)
        if memory.wants(("a", 1), area, after(i / 10)):
            memory.read(("a", 1), area, after(i / 10), confident=True)
            confident += 1
    assert confident == 4


def test_bounded_least_recently_seen_go_first() -> None:
    memory = TrackReads(capacity=3, forget_s=60)
    for track in range(3):
        memory.read(("a", track), AREA, T, confident=True)
    assert not memory.wants(("a", 0), AREA, T)  # 0 is now the most recently seen
    memory.read(("a", 3), AREA, T, confident=True)
    assert len(memory) == 3
    assert memory.wants(("a", 1), AREA, T)  # evicted
    assert not any(memory.wants(("a", t), AREA, T) for t in (0, 2, 3))


def test_cameras_are_separate_and_forgotten_one_by_one() -> None:
    memory = TrackReads(capacity=10, forget_s=60)
    memory.read(("a", 1), AREA, T, confident=True)
    memory.read(("b", 1), AREA, T, confident=True)
    memory.forget_camera("a")
    assert memory.wants(("a", 1), AREA, T)
    assert not memory.wants(("b", 1), AREA, T)


def looks_at_10_fps(memory: TrackReads, seconds: float, area_at=lambda _t: AREA) -> list[float]:  # noqa: ANN001
    """The capture times at which a track whose looks never find a plate is looked at."""
    looks = []
    for i in range(round(seconds * 10)):
        t = i / 10
        if memory.wants(("a", 1), area_at(t), after(t)):
            memory.missed(("a", 1), area_at(t), after(t))
            looks.append(t)
    return looks


def test_a_track_without_a_plate_is_looked_at_less_and_less_often() -> None:
    """A car in view whose plate never shows costs looks per second of footage, not per frame."""
    memory = TrackReads(10, 5, free_misses=3, miss_wait_s=0.2, miss_wait_max_s=1.0, miss_growth=0.05)
    looks = looks_at_10_fps(memory, 10)
    assert looks[:6] == [0.0, 0.1, 0.2, 0.4, 0.8, 1.6]  # 3 free misses, then 0.2, 0.4, 0.8 s
    assert [round(b - a, 1) for a, b in pairwise(looks[5:])] == [1.0] * 8  # then at most 1 s apart
    no_wait = TrackReads(10, 5, free_misses=3, miss_wait_s=0.0, miss_wait_max_s=1.0, miss_growth=0.05)
    assert len(looks_at_10_fps(no_wait, 10)) == 100  # 0: every frame, as before


def test_a_plateless_track_that_comes_closer_is_looked_at_at_once() -> None:
    memory = TrackReads(10, 5, free_misses=1, miss_wait_s=0.5, miss_wait_max_s=2.0, miss_growth=0.15)
    growing = looks_at_10_fps(memory, 3, area_at=lambda t: int(AREA * (1.1 ** (t * 10))))
    assert growing[:3] == [0.0, 0.2, 0.4]  # 1.1 per frame: +21 % every second frame
    assert all(round(b - a, 1) <= 0.2 for a, b in pairwise(growing))


def test_a_read_ends_the_wait() -> None:
    memory = TrackReads(10, 5, free_misses=0, miss_wait_s=1.0, miss_wait_max_s=1.0, miss_growth=0.05)
    memory.missed(("a", 1), AREA, T)
    assert not memory.wants(("a", 1), AREA, after(0.5))
    assert memory.wants(("a", 1), AREA, after(1.0))
    memory.read(("a", 1), AREA, after(1.0), confident=False)  # a plate, not yet sure: every frame again
    assert memory.wants(("a", 1), AREA, after(1.1))


def test_a_plate_found_but_not_read_gets_looks_on_every_frame_for_a_while() -> None:
    """The plate is there and may read a frame or two later; looks for `seen_look_s`, not on every frame
    while an unreadable plate shows (a parked car's would cost every frame again)."""
    memory = TrackReads(
        10, 5, free_misses=0, miss_wait_s=0.4, miss_wait_max_s=0.4, miss_growth=0.05, seen_look_s=0.25
    )
    memory.missed(("a", 1), AREA, T)
    assert not memory.wants(("a", 1), AREA, after(0.1))
    assert memory.wants(("a", 1), AREA, after(0.4))
    memory.missed(("a", 1), AREA, after(0.4), plate_seen=True)
    for t in (0.45, 0.5, 0.6):  # every frame of the window
        assert memory.wants(("a", 1), AREA, after(t))
        memory.missed(("a", 1), AREA, after(t), plate_seen=True)  # still unreadable: no longer window
    assert not memory.wants(("a", 1), AREA, after(0.7))  # waiting again
    assert memory.wants(("a", 1), AREA, after(1.0))
    memory.missed(("a", 1), AREA, after(1.0), plate_seen=True)
    assert memory.wants(("a", 1), AREA, after(1.1))  # a look after the wait opens a window again
    memory.read(("a", 1), AREA, after(1.1), confident=False)
    memory.missed(("a", 1), AREA, after(1.2))  # a read closed the window; a plateless look opens none
    assert not memory.wants(("a", 1), AREA, after(1.3))


def test_a_lost_id_handed_to_the_next_car_is_a_new_vehicle() -> None:
    """lot-day at 166 s, every frame detected: the car read confidently (track 6) leaves the picture,
    1.4 s later ByteTrack gives its id to the next car, elsewhere in the frame. That car is read."""
    memory = TrackReads(10, forget_s=1.5, regrow=0.15, max_confident=8)
    first, next_car = Box(x=366, y=190, w=597, h=435), Box(x=390, y=342, w=287, h=209)
    memory.read(("a", 6), first.w * first.h, T, confident=True, box=first)
    assert not memory.wants(("a", 6), first.w * first.h, after(0.1), first)  # the same car, read
    assert memory.wants(("a", 6), next_car.w * next_car.h, after(1.5), next_car)  # IoU 0.23: another car
    memory.read(("a", 6), next_car.w * next_car.h, after(1.5), confident=True, box=next_car)
    assert not memory.wants(("a", 6), next_car.w * next_car.h, after(1.6), next_car)


def test_a_track_found_again_where_it_was_is_the_same_vehicle() -> None:
    memory = TrackReads(10, forget_s=1.5, regrow=0.15, max_confident=8)
    car, moved = Box(x=366, y=190, w=597, h=435), Box(x=400, y=200, w=580, h=430)
    memory.read(("a", 6), car.w * car.h, T, confident=True, box=car)
    assert not memory.wants(("a", 6), moved.w * moved.h, after(1.2), moved)  # hidden 1.2 s, found near
    far = Box(x=0, y=0, w=300, h=200)
    assert not memory.wants(("a", 6), far.w * far.h, after(1.3), far)  # elsewhere the next frame: a jump

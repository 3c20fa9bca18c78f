"""The bounded memory of tracks that decides which frames of a track are read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

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

"""The bounded memory of tracks that already have a confident read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from services.ocr.memory import ConfidentTracks

T = datetime(2026, 1, 5, tzinfo=timezone.utc)


def test_remembers_until_unseen_for_too_long() -> None:
    memory = ConfidentTracks(capacity=10, forget_s=5)
    assert not memory.seen_done(("a", 1), T)
    memory.mark_done(("a", 1), T)
    assert memory.seen_done(("a", 1), T + timedelta(seconds=4))
    assert memory.seen_done(("a", 1), T + timedelta(seconds=8))  # seen at 4 s: the gap is 4 s
    assert not memory.seen_done(("a", 1), T + timedelta(seconds=14))
    assert len(memory) == 0


def test_bounded_least_recently_seen_go_first() -> None:
    memory = ConfidentTracks(capacity=3, forget_s=60)
    for track in range(3):
        memory.mark_done(("a", track), T)
    assert memory.seen_done(("a", 0), T)  # 0 is now the most recently seen
    memory.mark_done(("a", 3), T)
    assert len(memory) == 3
    assert not memory.seen_done(("a", 1), T)  # evicted
    assert all(memory.seen_done(("a", t), T) for t in (0, 2, 3))


def test_cameras_are_separate_and_forgotten_one_by_one() -> None:
    memory = ConfidentTracks(capacity=10, forget_s=60)
    memory.mark_done(("a", 1), T)
    memory.mark_done(("b", 1), T)
    memory.forget_camera("a")
    assert not memory.seen_done(("a", 1), T)
    assert memory.seen_done(("b", 1), T)

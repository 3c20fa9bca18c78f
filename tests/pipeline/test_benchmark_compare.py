"""How the benchmark counts lost and extra events against the every-frame reference."""

from __future__ import annotations

from services.pipeline.benchmark import Event, compare


def test_an_event_of_the_same_sighting_matches_and_others_are_lost_or_extra() -> None:
    reference = [Event("AG6V1W", "entry", 134.7, 134.0, 134.7), Event("DL9E1U", "entry", 29.3, 29.1, 29.3)]
    events = [
        Event("AG6V1W", "entry", 135.6, 134.0, 135.6),  # a later best read of the same sighting
        Event("DL9E1U", "entry", 30.0, 30.0, 30.0),  # a sighting that begins after the reference's ended
        Event("AG6V1W", "exit", 134.2, 134.0, 134.2),  # another type
    ]
    lost, extra = compare(events, reference)
    assert [e.plate for e in lost] == ["DL9E1U"]
    assert [(e.plate, e.type) for e in extra] == [("DL9E1U", "entry"), ("AG6V1W", "exit")]
    # expected events (from a CSV) are counted as the whole-video tests count them: time in the window
    lost, _ = compare(events, reference, either_way=False)
    assert [e.plate for e in lost] == ["AG6V1W", "DL9E1U"]

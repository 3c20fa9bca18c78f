"""A sighting's plate from the per-character evidence of all its reads (candidates fused)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anpr.messages import Candidate, EventMessage, PlateRead
from services.aggregator.settings import AggregatorSettings
from services.aggregator.sightings import Aggregator
from services.aggregator.vote import add_votes, read_evidence, voted_plate
from tests.aggregator.helpers import Feed, at, plate_read

DATA = Path(__file__).parent / "data"
ALPHABET = "AB18T"  # letters, digits and look-alikes (B/8, 1 and I's neighbour T)
TOP_N = 5


def _read_of(slots: np.ndarray, seconds: float) -> PlateRead:
    """A read as the reader reports it: the most probable text of independent per-slot
    probabilities, and the top-N texts with their probabilities as candidates."""
    texts = [
        ("".join(ALPHABET[i] for i in idx), float(np.prod(slots[np.arange(len(idx)), idx])))
        for idx in itertools.product(range(len(ALPHABET)), repeat=len(slots))
    ]
    ranked = sorted(texts, key=lambda c: -c[1])[:TOP_N]
    plate, p = ranked[0]
    read = plate_read(plate, seconds, p)
    return read.model_copy(update={"candidates": tuple(Candidate(text=t, confidence=q) for t, q in ranked)})


@settings(max_examples=60, deadline=None)
@given(data=st.data(), length=st.integers(3, 4), reads=st.integers(1, 6))
def test_a_unanimous_sighting_keeps_its_plate(data: st.DataObject, length: int, reads: int) -> None:
    """Whatever else each read held possible, reads that all chose one plate give that plate."""
    plate = "".join(data.draw(st.lists(st.sampled_from(ALPHABET), min_size=length, max_size=length)))
    votes: dict[str, float] = {}
    for k in range(reads):
        raw = np.array(
            data.draw(
                st.lists(
                    st.lists(st.floats(0.01, 1.0), min_size=len(ALPHABET), max_size=len(ALPHABET)),
                    min_size=length,
                    max_size=length,
                )
            )
        )
        # The plate's character leads in every slot, so the reader chose the plate.
        for j, c in enumerate(plate):
            raw[j, ALPHABET.index(c)] = raw[j].max() + data.draw(st.floats(0.01, 1.0))
        read = _read_of(raw / raw.sum(axis=1, keepdims=True), float(k))
        assert read.normalized == plate
        add_votes(votes, read_evidence(read, candidates=True))
    assert voted_plate(votes, plate) == plate


def test_a_read_shares_its_weight_among_what_it_held_possible() -> None:
    read = plate_read("4TTX783", 0.0, 0.6).model_copy(
        update={
            "candidates": (
                Candidate(text="4TTX783", confidence=0.6),
                Candidate(text="4TIX783", confidence=0.3),
                Candidate(text="4TTX78", confidence=0.1),  # another length: the reader chose seven
            )
        }
    )
    assert read_evidence(read, candidates=False) == {"4TTX783": 0.6}
    shares = read_evidence(read, candidates=True)
    assert shares.keys() == {"4TTX783", "4TIX783"}
    assert shares["4TTX783"] == pytest.approx(0.4) and shares["4TIX783"] == pytest.approx(0.2)


def test_look_alikes_the_formats_chose_stay_with_the_plate() -> None:
    """Texas AAA-0000 turned the reader's 8 into B: its candidates with 8 back the B, not the 8."""
    read = plate_read("ABC1234", 0.0, 0.5).model_copy(
        update={
            "text": "A8C1234",
            "candidates": (
                Candidate(text="ABC1234", confidence=0.5),
                Candidate(text="A8C1234", confidence=0.45),
            ),
        }
    )
    assert read_evidence(read, candidates=True) == {"ABC1234": pytest.approx(0.5)}


def _sighting(name: str, fuse: bool, tmp_path: Path) -> tuple[list[PlateRead], EventMessage]:
    """Real reads of one car's pass in the lot-day video (defaults, 5 frames/s), through the aggregator."""
    reads = [
        PlateRead.model_validate_json(line)
        for line in (DATA / f"lot_day_{name}.jsonl").read_text().splitlines()
    ]
    feed = Feed(Aggregator(AggregatorSettings(state_file=tmp_path / f"{fuse}.json", fuse_candidates=fuse)))
    for read in reads:  # replayed on the helpers' clock, the video's spacing kept
        seconds = (read.captured_at - reads[0].captured_at).total_seconds()
        feed.frame(seconds, read.model_copy(update={"captured_at": at(seconds)}))
    [event] = feed.end(seconds + 1)
    return reads, event


def test_fusion_outweighs_the_most_confident_misread(tmp_path: Path) -> None:
    reads, event = _sighting("4TIX783_entry", True, tmp_path)
    assert max(reads, key=lambda r: r.confidence).normalized == "4TTX783"
    assert event.plate == "4TIX783"


def test_the_reads_doubt_decides_where_the_plates_alone_misread(tmp_path: Path) -> None:
    """A poor read (LNT0770) and a misread (4NTU770, I its second choice) outvote the good one
    (4NIU770, 0.96) when only plates count; their candidates' evidence gives the I back."""
    assert _sighting("4NIU770_exit", False, tmp_path)[1].plate == "4NTU770"
    assert _sighting("4NIU770_exit", True, tmp_path)[1].plate == "4NIU770"

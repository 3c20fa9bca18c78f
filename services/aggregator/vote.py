"""Which plate text a sighting carries: a confidence-weighted vote over its reads.

OCR confidences are over-confident on single frames, so one confident misread must not decide the
plate when ten other reads agree. The vote first picks the text length with the most weight (a
dropped character shifts every position after it), then, for each position, the character with
the most weight among reads of that length. Ties go to the best read's character, then to the
smallest character, so the result never depends on the order reads came in.

With candidates fused (`read_evidence`), a read's weight is shared among the texts it held
possible by their probabilities, so a position's tally sums, over reads, each read's confidence
times that character's share there: a read sure of six characters and unsure of one backs those
six fully and splits the seventh, and the right character a misread ranked second still counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, MutableMapping

from anpr.messages import PlateRead
from anpr.plates import confusion_key, normalize

# A read of confidence 0 still counts a little: it is evidence the text was seen.
MIN_WEIGHT = 1e-3
TIE = 1e-9
# Texts a sighting keeps; the lightest go first (a long sighting adds a few new tails per read).
MAX_TEXTS = 64


def weight(confidence: float) -> float:
    return max(confidence, MIN_WEIGHT)


def read_evidence(read: PlateRead, candidates: bool) -> dict[str, float]:
    """The texts a read counts for, with their weights; together they weigh the read's confidence.
    Without `candidates` all of it goes to its plate. With, it is shared among the plate and its
    candidates of the plate's length in proportion to their probabilities, so at each position the
    read backs every character it held possible by how likely it found it. Where the plate formats
    changed the read, a candidate differing from the plate only by look-alikes (O/0, B/8, ...)
    counts for the plate: that choice was made knowing the layout."""
    plate = read.normalized
    if not candidates:
        return {plate: weight(read.confidence)}
    held = {plate: read.confidence}
    key = confusion_key(plate)
    formatted = normalize(read.text) != plate
    for c in read.candidates:
        text = normalize(c.text)
        # The reader chose the length; candidates of another length would move every position after.
        if len(text) == len(plate) and text != plate:
            target = plate if formatted and confusion_key(text) == key else text
            held[target] = held.get(target, 0.0) + c.confidence
    total = sum(held.values())
    if total <= 0:
        return {plate: weight(read.confidence)}
    return {text: weight(read.confidence) * p / total for text, p in held.items()}


def add_votes(votes: MutableMapping[str, float], evidence: Mapping[str, float]) -> None:
    for text, w in evidence.items():
        votes[text] = votes.get(text, 0.0) + w
    if len(votes) > MAX_TEXTS:
        for text in sorted(votes, key=lambda t: (votes[t], t))[: len(votes) - MAX_TEXTS]:
            del votes[text]


def voted_plate(votes: Mapping[str, float], best: str) -> str:
    """`votes` maps each normalised text to the summed weight of its reads; `best` is the best read."""
    if not votes:
        return best
    if len(votes) == 1:
        return next(iter(votes))
    by_length: dict[int, float] = defaultdict(float)
    for text, w in votes.items():
        by_length[len(text)] += w
    top_length = max(by_length.values())
    lengths = [n for n, w in by_length.items() if w >= top_length - TIE]
    length = len(best) if len(best) in lengths else min(lengths)
    same_length = {t: w for t, w in votes.items() if len(t) == length}
    chars = []
    for i in range(length):
        tally: dict[str, float] = defaultdict(float)
        for text, w in same_length.items():
            tally[text[i]] += w
        top = max(tally.values())
        # Sums of floats depend on their order; a hair's difference is a tie.
        winners = sorted(c for c, w in tally.items() if w >= top - TIE)
        prefer = best[i] if len(best) == length else None
        chars.append(prefer if prefer in winners else winners[0])
    return "".join(chars)

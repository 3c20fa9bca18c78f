"""Which plate text a sighting carries: a confidence-weighted vote over its reads.

OCR confidences are over-confident on single frames, so one confident misread must not decide the
plate when ten other reads agree. The vote first picks the text length with the most weight (a
dropped character shifts every position after it), then, for each position, the character with
the most weight among reads of that length. Ties go to the best read's character, then to the
smallest character, so the result never depends on the order reads came in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

# A read of confidence 0 still counts a little: it is evidence the text was seen.
MIN_WEIGHT = 1e-3
TIE = 1e-9


def weight(confidence: float) -> float:
    return max(confidence, MIN_WEIGHT)


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

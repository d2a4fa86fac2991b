"""``masks.rle_problems`` (one numpy pass) says exactly what ``masks.rle_problem`` says."""

from __future__ import annotations

import numpy as np
import pytest

from imagesets import masks


def corrupted(rng: np.random.Generator, kinds: tuple[int, ...]) -> list:
    rles = []
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 50, 2))
        rle = masks.encode((rng.random((h, w)) < rng.random()).astype(np.uint8))
        kind = int(rng.choice(kinds))
        if kind == 1:
            rle["counts"] += "1"              # one run too many
        elif kind == 2:
            rle["size"] = [h + 1, w]          # counts no longer sum to h × w
        elif kind == 3:
            rle["counts"] = rle["counts"][:-1] or "0"
        elif kind == 4:
            rle = {"size": [h, w]}            # no counts
        elif kind == 5:
            rle["counts"] = rle["counts"] + "~"
        elif kind == 6:
            rle = {"size": [h, w], "counts": [h * w]}   # uncompressed, valid
        rles.append(rle)
    return rles


@pytest.mark.parametrize("kinds", [(0,), (0, 1, 2), (0, 1, 2, 4, 6), (0, 3, 5), (0, 1, 2, 3)])
def test_batch_matches_one_by_one(kinds):
    rles = corrupted(np.random.default_rng(len(kinds)), kinds)
    expected = [masks.rle_problem(r) for r in rles]
    assert masks.rle_problems(rles) == expected
    assert (kinds == (0,)) == all(p is None for p in expected)


def test_empty_and_negative_runs():
    assert masks.rle_problems([]) == []
    negative = {"size": [4, 4], "counts": "d0L"}   # runs 20, -4: sums to 16 = 4 × 4
    assert masks.rle_problems([negative]) == [masks.rle_problem(negative)]
    assert masks.rle_problems([negative])[0] == "negative run length"

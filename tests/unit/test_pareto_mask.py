"""The sort-based front against the definition, on points with ties and duplicates."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeoff.engine.pareto import nondominated_mask


def brute_force(points: np.ndarray) -> list[bool]:
    """No other point is at least as good everywhere and better somewhere; of equal
    points only the first counts."""
    keep = []
    for i, p in enumerate(points):
        dominated = any(np.all(q <= p) and np.any(q < p) for q in points)
        earlier_twin = any(np.array_equal(points[j], p) for j in range(i))
        keep.append(not dominated and not earlier_twin)
    return keep


# Few distinct values per coordinate, so ties and duplicates are common.
coordinate = st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0])


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 3).flatmap(
        lambda d: st.lists(st.lists(coordinate, min_size=d, max_size=d), max_size=25)
    )
)
def test_the_front_is_the_nondominated_first_of_each_point(rows: list[list[float]]) -> None:
    points = np.array(rows, dtype=float).reshape(len(rows), -1 if rows else 0)
    assert nondominated_mask(points).tolist() == brute_force(points)

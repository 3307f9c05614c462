"""Greedy ensemble selection (Caruana): what it picks, and its honest comparison."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeoff.engine.ensemble import cross_fitted, greedy, one_hot

CLASSES = ["a", "b"]


def votes(labels: str) -> np.ndarray:
    return one_hot(list(labels), CLASSES)


def test_two_models_wrong_on_different_rows_beat_either_alone() -> None:
    truth = np.array([0, 0, 0, 1, 1, 1])
    # Each is confidently right where the other is unsure and wrong.
    left = np.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.1, 0.9], [0.1, 0.9]])
    right = np.array([[0.4, 0.6], [0.9, 0.1], [0.9, 0.1], [0.1, 0.9], [0.1, 0.9], [0.1, 0.9]])
    weak = np.full((6, 2), 0.5) + np.array([0.01, -0.01])
    selection = greedy([weak, left, right], truth, size=2)
    assert selection.members == {1: 1, 2: 1}
    assert selection.curve == [5 / 6, 1.0]
    assert selection.accuracy == 1.0 and selection.size == 2


def test_ties_go_to_the_earlier_candidate_and_members_repeat() -> None:
    truth = np.array([0, 1, 0, 1])
    same = votes("abab")
    selection = greedy([same, same.copy(), votes("aaaa")], truth, size=3)
    assert selection.members == {0: 3}  # the perfect one, every round, never its twin
    # A later round's tie also goes to the earlier candidate: with two votes of the
    # perfect one in, the weak one no longer hurts, but comes after it.
    assert greedy([votes("aaaa"), same], truth, size=3).members == {0: 1, 1: 2}


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="no candidates"):
        greedy([], np.array([0]), 3)
    with pytest.raises(ValueError, match="at least one member"):
        greedy([votes("a")], np.array([0]), 0)


def test_cross_fitting_scores_rows_the_selection_never_saw() -> None:
    # A candidate right on the even rows only: chosen on one half, it fails on the other.
    truth = np.array([0, 1] * 10)
    even_only = votes("ab" * 10)
    even_only[1::2] = [1.0, 0.0]  # wrong on every odd row
    steady = votes("ab" * 10)
    steady[[0, 1]] = [[0.0, 1.0], [1.0, 0.0]]  # wrong on rows 0 and 1 only
    ensemble, single = cross_fitted([even_only, steady], truth, size=1)
    # Chosen on the even rows, even_only wins there (10/10) and scores 0/10 on the odd;
    # chosen on the odd rows, steady wins (9/10) and scores 9/10 on the even.
    assert single == pytest.approx((0.0 + 0.9) / 2)
    assert ensemble == pytest.approx(single)  # one round: the same pick


# Dyadic scores: their sums are exact, so no tie between classes is broken by rounding.
scores_strategy = st.integers(2, 5).flatmap(
    lambda k: (
        st.lists(
            st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=2, max_size=2),
            min_size=8,
            max_size=8,
        )
        .map(np.array)
        .map(lambda rows: rows)
        .flatmap(
            lambda first: st.tuples(
                st.just(first),
                st.lists(
                    st.lists(
                        st.lists(st.sampled_from([0.0, 0.25, 0.75, 1.0]), min_size=2, max_size=2),
                        min_size=8,
                        max_size=8,
                    ).map(np.array),
                    min_size=k - 1,
                    max_size=k - 1,
                ),
            )
        )
    )
)


@settings(max_examples=100, deadline=None)
@given(scores_strategy, st.lists(st.integers(0, 1), min_size=8, max_size=8), st.integers(1, 6))
def test_the_first_round_is_the_best_single_candidate_and_the_curve_ends_at_the_result(
    drawn: tuple[np.ndarray, list[np.ndarray]], labels: list[int], size: int
) -> None:
    first, rest = drawn
    scores = [first, *rest]
    truth = np.array(labels)
    selection = greedy(scores, truth, size)
    alone = [float(np.mean(s.argmax(axis=1) == truth)) for s in scores]
    assert selection.curve[0] == max(alone)
    assert selection.curve[-1] == selection.accuracy
    assert selection.size == size
    weights = np.zeros(len(scores))
    for i, times in selection.members.items():
        weights[i] = times
    mixed = sum(w * s for w, s in zip(weights, scores, strict=True))
    assert float(np.mean(np.asarray(mixed).argmax(axis=1) == truth)) == selection.accuracy


def test_log_loss_adds_a_member_that_only_sharpens_the_probabilities() -> None:
    truth = np.array([0, 1, 0, 1, 0, 1])
    # Both right on every row; each hesitates (0.51) on a row where the other is sure.
    # Mixing them changes no label, so accuracy sees nothing to gain, and log loss does.
    sure = np.array([[0.99, 0.01], [0.01, 0.99]] * 3)
    first, second = sure.copy(), sure.copy()
    first[0], second[5] = [0.51, 0.49], [0.49, 0.51]
    by_accuracy = greedy([first, second], truth, size=2)
    by_log_loss = greedy([first, second], truth, size=2, criterion="log_loss")
    assert by_accuracy.members == {0: 2}
    assert by_log_loss.members == {0: 1, 1: 1}
    assert by_log_loss.accuracy == by_accuracy.accuracy == 1.0

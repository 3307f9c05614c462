"""Greedy ensemble selection over trials' held-out predictions (Caruana et al., 2004).

Each candidate gives, for the same held-out rows, a score per class (probabilities, or a
one-hot vote when it has only labels). Starting empty, each round adds, with
replacement, the candidate whose addition makes the averaged scores most accurate; ties go
to the earlier candidate, so the result is deterministic. A member chosen k times weighs
k / size.

Selecting on the rows the accuracy is then read from flatters the ensemble, so
`cross_fitted` selects on one half of the rows and scores on the other (and the other way
round), against the best single candidate chosen the same way: the honest comparison.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Criterion", "Selection", "cross_fitted", "greedy", "one_hot"]


@dataclass(frozen=True)
class Selection:
    """Members (candidate index -> times chosen) and the ensemble's accuracy on its rows."""

    members: dict[int, int]
    accuracy: float
    curve: list[float]
    """Accuracy after each round."""

    @property
    def size(self) -> int:
        return sum(self.members.values())


def one_hot(labels: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Labels as rows of scores: 1 for the label's class, 0 elsewhere."""
    index = {c: i for i, c in enumerate(classes)}
    out = np.zeros((len(labels), len(classes)))
    out[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return out


Criterion = Literal["accuracy", "log_loss"]


def _accuracy(scores: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(scores.argmax(axis=1) == truth))


def _neg_log_loss(scores: np.ndarray, truth: np.ndarray) -> float:
    p = scores[np.arange(len(truth)), truth]
    return float(np.mean(np.log(np.clip(p, 1e-15, 1.0))))


_CRITERIA: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _accuracy,
    "log_loss": _neg_log_loss,
}


def greedy(
    scores: Sequence[np.ndarray], truth: np.ndarray, size: int, criterion: Criterion = "accuracy"
) -> Selection:
    """`size` rounds of selection with replacement, each adding the candidate that makes
    the mix best by `criterion` (log loss: smoother than accuracy, so members that only
    sharpen the probabilities count); `truth` holds class indices. The curve and the
    result are accuracies."""
    if not scores:
        raise ValueError("no candidates to select from")
    if size < 1:
        raise ValueError(f"an ensemble needs at least one member, got size {size}")
    judge = _CRITERIA[criterion]
    total = np.zeros_like(scores[0], dtype=float)
    chosen: Counter[int] = Counter()
    curve: list[float] = []
    for rounds in range(1, size + 1):
        best, best_value = 0, -np.inf
        for i, candidate in enumerate(scores):
            value = judge((total + candidate) / rounds, truth)
            if value > best_value:
                best, best_value = i, value
        total += scores[best]
        chosen[best] += 1
        curve.append(_accuracy(total / rounds, truth))
    return Selection(dict(sorted(chosen.items())), curve[-1], curve)


def cross_fitted(
    scores: Sequence[np.ndarray], truth: np.ndarray, size: int, criterion: Criterion = "accuracy"
) -> tuple[float, float]:
    """(ensemble, most accurate single candidate) accuracy on rows neither was chosen on:
    each is chosen on the even rows and scored on the odd ones and the other way round,
    averaged; `criterion` is the ensemble's selection criterion."""
    halves = (np.arange(len(truth)) % 2 == 0, np.arange(len(truth)) % 2 == 1)
    ensemble = single = 0.0
    for pick, score in (halves, halves[::-1]):
        selection = greedy([s[pick] for s in scores], truth[pick], size, criterion)
        weights = np.zeros(len(scores))
        for i, times in selection.members.items():
            weights[i] = times
        mixed = sum(w * s[score] for w, s in zip(weights, scores, strict=True) if w)
        ensemble += _accuracy(np.asarray(mixed), truth[score]) / 2
        # The single trial a user would pick: the most accurate, whatever the criterion.
        best = max(range(len(scores)), key=lambda i: _accuracy(scores[i][pick], truth[pick]))
        single += _accuracy(scores[best][score], truth[score]) / 2
    return ensemble, single

"""The Ensemble trial's selection over its candidates' held-out predictions.

Each candidate saved `predictions.csv` (``index,y_true,y_pred[,proba_<class>...]``);
`parse_predictions` reads one from bytes (the adapters read the files) or says in one
line why it cannot be used. `select` keeps the candidates that predicted the same rows,
scores them by probabilities when every one has them (else by one-hot votes), runs the
greedy selection (`tradeoff.engine.ensemble`) and measures the mix: accuracy,
balanced_accuracy and, with probabilities, log_loss. Both adapters and the ensemble pod
call it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from tradeoff.api.ensemble import (
    EnsembleCrossFitted,
    EnsembleMember,
    EnsembleRequest,
    EnsembleResult,
)
from tradeoff.engine.ensemble import Criterion, cross_fitted, greedy, one_hot

__all__ = ["PREDICTIONS", "Predictions", "Selected", "measure", "parse_predictions", "select"]

PREDICTIONS = "predictions.csv"
"""The artifact the selection reads: ``index,y_true,y_pred[,proba_<class>...]``."""

MAX_SKIPPED = 20


@dataclass(frozen=True)
class Predictions:
    """One candidate's held-out predictions."""

    trial: str
    truth: list[str]
    labels: list[str]
    classes: list[str] | None
    """Columns of `proba`, when the trial saved probabilities."""
    proba: np.ndarray | None


def parse_predictions(trial: str, content: bytes) -> Predictions | str:
    """The predictions in `content`, or one line saying why they cannot be used."""
    try:
        rows = list(csv.reader(io.StringIO(content.decode())))
        header, body = rows[0], rows[1:]
        if header[:3] != ["index", "y_true", "y_pred"] or not body:
            raise ValueError("expected the columns index,y_true,y_pred and at least one row")
        classes = [c.removeprefix("proba_") for c in header[3:]] or None
        proba = np.array([[float(v) for v in r[3:]] for r in body]) if classes else None
        if proba is not None and (
            proba.ndim != 2 or proba.shape[1] != len(classes or ()) or not np.isfinite(proba).all()
        ):
            raise ValueError("probability columns are not finite numbers on every row")
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        return f"{trial}: {PREDICTIONS} does not parse ({exc})"
    return Predictions(trial, [r[1] for r in body], [r[2] for r in body], classes, proba)


@dataclass(frozen=True)
class Selected:
    """The selection's members (trial -> weight), metrics on the held-out rows, and notes."""

    members: dict[str, float]
    metrics: dict[str, float]
    rows: int
    scores: str
    cross_fitted: tuple[float, float]
    alone: dict[str, float] = field(default_factory=dict)
    """Each usable candidate's own accuracy on the rows."""
    skipped: list[str] = field(default_factory=list)

    def result(self) -> EnsembleResult:
        ensemble, single = self.cross_fitted
        return EnsembleResult(
            members=[EnsembleMember(trial=t, weight=w) for t, w in self.members.items()],
            rows=self.rows,
            scores="probabilities" if self.scores == "probabilities" else "votes",
            cross_fitted=EnsembleCrossFitted(ensemble=ensemble, best_single=single),
            skipped=self.skipped[:MAX_SKIPPED],
        )


def select(request: EnsembleRequest, found: Sequence[Predictions | str]) -> Selected | str:
    """Greedy selection over the usable predictions (in candidate order), or why none is
    usable. Candidates that predicted other rows than the first usable one are skipped."""
    notes = [f for f in found if isinstance(f, str)]
    usable: list[Predictions] = []
    for got in found:
        if isinstance(got, str):
            continue
        if usable and got.truth != usable[0].truth:
            notes.append(f"{got.trial}: predicted other rows than {usable[0].trial}")
        else:
            usable.append(got)
    if not usable:
        return "; ".join(notes[:3]) or "no candidate to choose from"
    classes = sorted({c for p in usable for c in (p.classes or [])} | set(usable[0].truth))
    with_proba = all(p.classes is not None and sorted(p.classes) == classes for p in usable)
    scores = [_scores(p, classes, with_proba) for p in usable]
    truth = np.array([classes.index(t) for t in usable[0].truth])
    criterion: Criterion = (
        "log_loss" if with_proba and request.criterion == "log_loss" else "accuracy"
    )
    if criterion != request.criterion:
        notes.append("criterion log_loss: some candidates saved labels only; chose by accuracy")
    selection = greedy(scores, truth, request.size, criterion)
    mixed = sum(times * scores[i] for i, times in selection.members.items()) / selection.size
    metrics = measure(np.asarray(mixed), truth, with_proba)
    return Selected(
        members={usable[i].trial: t / selection.size for i, t in selection.members.items()},
        metrics=metrics,
        rows=len(truth),
        scores="probabilities" if with_proba else "votes",
        cross_fitted=cross_fitted(scores, truth, request.size, criterion),
        alone={
            p.trial: measure(s, truth, False)["accuracy"]
            for p, s in zip(usable, scores, strict=True)
        },
        skipped=notes,
    )


def measure(scores: np.ndarray, truth: np.ndarray, with_proba: bool) -> dict[str, float]:
    """accuracy, balanced_accuracy (mean recall over the classes present) and, for
    probabilities, log_loss of class scores against true class indices."""
    predicted = scores.argmax(axis=1)
    recalls = [float(np.mean(predicted[truth == c] == c)) for c in np.unique(truth)]
    out = {
        "accuracy": float(np.mean(predicted == truth)),
        "balanced_accuracy": float(np.mean(recalls)),
    }
    if with_proba:
        p = scores[np.arange(len(truth)), truth]
        out["log_loss"] = float(-np.mean(np.log(np.clip(p, 1e-15, 1.0))))
    return out


def _scores(p: Predictions, classes: list[str], with_proba: bool) -> np.ndarray:
    if with_proba and p.proba is not None and p.classes is not None:
        order = [p.classes.index(c) for c in classes]
        return p.proba[:, order]
    return one_hot(p.labels, classes)

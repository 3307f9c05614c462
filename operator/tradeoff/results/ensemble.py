"""`tradeoff ensemble STUDY`: a greedy ensemble of a local study's trials.

Reads the held-out predictions each candidate trial saved (the artifact
``predictions.csv`` of the built-in workloads: ``index,y_true,y_pred`` and optionally
``proba_<class>`` columns), checks that every candidate predicted the same rows, and runs
Caruana's greedy selection with replacement (`tradeoff.engine.ensemble`). Candidates are
the Pareto front (``--from front``) or the N best trials by the first objective
(``--from top:N``). Prints the members and their weights, the ensemble's accuracy on the
rows it was chosen on, and the cross-fitted comparison with the best single trial.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.table import Table

from tradeoff.api.trial import Trial
from tradeoff.engine.ensemble import Criterion, cross_fitted, greedy, one_hot
from tradeoff.results.common import EXIT_OK, add_study_argument, bad, stdout_console
from tradeoff.results.source import SourceError, StudyView, is_cluster_ref, local_view, workdir_of

__all__ = ["add_arguments", "main"]

PREDICTIONS = "predictions.csv"
MAX_BYTES = 64 << 20
"""A predictions file larger than this is not read (a trial's output is untrusted)."""


@dataclass(frozen=True)
class Predictions:
    trial: Trial
    truth: list[str]
    labels: list[str]
    classes: list[str] | None
    """Columns of `proba`, when the trial saved probabilities."""
    proba: np.ndarray | None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_argument(parser)
    parser.add_argument("--size", type=_positive, default=20, help="selection rounds (20)")
    parser.add_argument(
        "--from",
        dest="source",
        type=_source,
        default="front",
        metavar="front|top:N",
        help="candidates: the Pareto front (default) or the N best by the first objective",
    )
    parser.add_argument(
        "--criterion",
        choices=("accuracy", "log_loss"),
        default="accuracy",
        help="what each round improves (default accuracy; log_loss needs probabilities)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--root", type=Path, default=None, help="workdir root (.tradeoff/)")


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1000, got {text!r}")
    return int(text)


def _source(text: str) -> str:
    if text == "front" or (text.startswith("top:") and text[4:].isdigit() and int(text[4:]) > 0):
        return text
    raise argparse.ArgumentTypeError(f"expected 'front' or 'top:N' (N > 0), got {text!r}")


def candidates(view: StudyView, source: str) -> list[Trial]:
    """The trials the selection draws from, best first by the first objective."""
    done = [r for r in view.records if r.status.state == "Succeeded" and r.status.values]
    if source == "front":
        done = [r for r in done if r.metadata.name in view.front_names]
    sign = -1.0 if view.spec.objectives[0].direction == "maximize" else 1.0
    done.sort(key=lambda r: (sign * (r.status.values or [0.0])[0], r.number))
    return done if source == "front" else done[: int(source[4:])]


def read(trial: Trial, workdir: Path) -> Predictions | str:
    """A trial's saved predictions, or why they cannot be used."""
    found = [a for a in trial.status.artifacts if a.name == PREDICTIONS]
    if not found:
        return f"{trial.metadata.name}: saved no {PREDICTIONS}"
    artifact = found[0]
    path = (workdir / artifact.path).resolve()
    if not path.is_relative_to(workdir.resolve()):
        return f"{trial.metadata.name}: its artifact path leaves the workdir"
    if artifact.size > MAX_BYTES:
        return f"{trial.metadata.name}: {PREDICTIONS} is over {MAX_BYTES >> 20} MiB"
    try:
        content = path.read_bytes()
    except OSError as exc:
        return f"{trial.metadata.name}: cannot read {artifact.path}: {exc.strerror or exc}"
    if hashlib.sha256(content).hexdigest() != artifact.sha256:
        return f"{trial.metadata.name}: {artifact.path} changed since the trial saved it"
    try:
        rows = list(csv.reader(io.StringIO(content.decode())))
        header, body = rows[0], rows[1:]
        if header[:3] != ["index", "y_true", "y_pred"] or not body:
            raise ValueError("expected the columns index,y_true,y_pred and at least one row")
        classes = [c.removeprefix("proba_") for c in header[3:]] or None
        proba = np.array([[float(v) for v in r[3:]] for r in body]) if classes else None
        if proba is not None and (
            proba.shape[1] != len(classes or ()) or not np.isfinite(proba).all()
        ):
            raise ValueError("probability columns are not finite numbers on every row")
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        return f"{trial.metadata.name}: {PREDICTIONS} does not parse ({exc})"
    return Predictions(trial, [r[1] for r in body], [r[2] for r in body], classes, proba)


def main(args: argparse.Namespace) -> int:
    if is_cluster_ref(args.study):
        return bad("ensemble", "artifacts are kept in local mode only: give a local workdir")
    try:
        workdir = workdir_of(args.study, args.root)
        view = local_view(workdir)
    except SourceError as exc:
        return bad("ensemble", exc)
    notes: list[str] = []
    usable: list[Predictions] = []
    for trial in candidates(view, args.source):
        got = read(trial, workdir)
        if isinstance(got, str):
            notes.append(got)
        elif usable and got.truth != usable[0].truth:
            notes.append(
                f"{trial.metadata.name}: predicted other rows than {usable[0].trial.metadata.name}"
            )
        else:
            usable.append(got)
    if not usable:
        why = "; ".join(notes[:3]) or "no succeeded trial to choose from"
        return bad("ensemble", f"no trial of {view.name} has usable predictions: {why}")
    classes = sorted({c for p in usable for c in (p.classes or [])} | set(usable[0].truth))
    with_proba = all(p.classes is not None and sorted(p.classes) == classes for p in usable)
    scores = [_scores(p, classes, with_proba) for p in usable]
    truth = np.array([classes.index(t) for t in usable[0].truth])
    criterion: Criterion = "log_loss" if with_proba and args.criterion == "log_loss" else "accuracy"
    if criterion != args.criterion:
        notes.append("--criterion log_loss: some candidates saved labels only; chose by accuracy")
    selection = greedy(scores, truth, args.size, criterion)
    ensemble, single = cross_fitted(scores, truth, args.size, criterion)
    members = [
        Member(
            usable[i].trial.metadata.name,
            times / selection.size,
            float(np.mean(scores[i].argmax(axis=1) == truth)),
            _cost(usable[i].trial),
        )
        for i, times in selection.members.items()
    ]
    result = Result(
        view.name, len(usable), "probabilities" if with_proba else "votes", len(truth),
        members, selection.accuracy, ensemble, single, notes,
    )  # fmt: skip
    if args.format == "json":
        print(json.dumps(result.wire(), indent=2))
    else:
        _print(result)
    return EXIT_OK


@dataclass(frozen=True)
class Member:
    trial: str
    weight: float
    accuracy: float
    cost_usd: float


@dataclass(frozen=True)
class Result:
    study: str
    candidates: int
    scores: str
    rows: int
    members: list[Member]
    accuracy: float
    cross_fitted: float
    best_single: float
    skipped: list[str]

    @property
    def cost_usd(self) -> float:
        return sum(m.cost_usd for m in self.members)

    def wire(self) -> dict[str, object]:
        return {
            "study": self.study,
            "candidates": self.candidates,
            "scores": self.scores,
            "rows": self.rows,
            "members": [
                {
                    "trial": m.trial,
                    "weight": m.weight,
                    "accuracy": m.accuracy,
                    "costUSD": m.cost_usd,
                }
                for m in self.members
            ],
            "accuracy": self.accuracy,
            "crossFitted": {"ensemble": self.cross_fitted, "bestSingle": self.best_single},
            "costUSD": self.cost_usd,
            "skipped": self.skipped,
        }


def _scores(p: Predictions, classes: list[str], with_proba: bool) -> np.ndarray:
    if with_proba and p.proba is not None and p.classes is not None:
        order = [p.classes.index(c) for c in classes]
        return p.proba[:, order]
    return one_hot(p.labels, classes)


def _cost(trial: Trial) -> float:
    economics = trial.status.economics
    return economics.cost_usd if economics is not None else 0.0


def _print(result: Result) -> None:
    out = stdout_console()
    table = Table(title=f"Ensemble of {result.study} ({result.scores})", title_justify="left")
    for column in ("member", "weight", "accuracy alone", "cost"):
        table.add_column(column, justify="left" if column == "member" else "right")
    for m in result.members:
        table.add_row(m.trial, f"{m.weight:.2f}", f"{m.accuracy:.4f}", f"${m.cost_usd:.3g}")
    out.print(table)
    out.print(
        f"Ensemble accuracy {result.accuracy:.4f} on the {result.rows} held-out rows it was"
        f" chosen on; chosen on one half of them and scored on the other: "
        f"{result.cross_fitted:.4f}, against {result.best_single:.4f} for the best single trial"
        f" chosen the same way ({result.candidates} candidates)."
    )
    out.print(
        f"Members' cost: ${result.cost_usd:.3g} (already spent: they are the study's trials)."
    )
    for note in result.skipped:
        out.print(f"note: {note}")

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
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from tradeoff.api.ensemble import EnsembleRequest
from tradeoff.api.trial import Trial
from tradeoff.arguments import path_argument
from tradeoff.engine.ensemble_selection import select
from tradeoff.engine.ensembles import candidates, ensemble_of, new_record
from tradeoff.local.ensemble import read_predictions, run_ensemble
from tradeoff.local.store import FileStore, StoreError
from tradeoff.results.common import (
    EXIT_OK,
    LOCAL_STUDY_HELP,
    add_study_argument,
    bad,
    stdout_console,
)
from tradeoff.results.source import (
    SourceError,
    StudyView,
    is_cluster_ref,
    local_view,
    workdir_of,
)

__all__ = ["add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_study_argument(parser, help=LOCAL_STUDY_HELP)
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
    parser.add_argument(
        "--record",
        action="store_true",
        help="also record it as the study's Ensemble trial (on the front, recommendable)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--root",
        type=path_argument,
        default=None,
        metavar="DIR",
        help="where local studies live (default: .tradeoff under the current directory)",
    )


def _positive(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 1000, got {text!r}")
    return int(text)


def _source(text: str) -> str:
    if text == "front" or (text.startswith("top:") and text[4:].isdigit() and int(text[4:]) > 0):
        return text
    raise argparse.ArgumentTypeError(f"expected 'front' or 'top:N' (N > 0), got {text!r}")


def main(args: argparse.Namespace) -> int:
    if is_cluster_ref(args.study):
        return bad("ensemble", "artifacts are kept in local mode only: give a local workdir")
    try:
        workdir = workdir_of(args.study, args.root)
        view = local_view(workdir)
    except SourceError as exc:
        return bad("ensemble", exc)
    chosen = candidates(view.spec, view.records, args.source)
    request = EnsembleRequest(
        candidates=[t.metadata.name for t in chosen] or ["-"],
        size=args.size,
        criterion=args.criterion,
    )
    found = [read_predictions(t, workdir) for t in chosen]
    selected = select(request, found)
    if isinstance(selected, str):
        why = selected if chosen else "no succeeded trial to choose from"
        return bad("ensemble", f"no trial of {view.name} has usable predictions: {why}")
    by_name = {t.metadata.name: t for t in chosen}
    members = [
        Member(name, weight, selected.alone[name], _cost(by_name[name]))
        for name, weight in selected.members.items()
    ]
    ensemble, single = selected.cross_fitted
    result = Result(
        view.name, len(selected.alone), selected.scores, selected.rows, members,
        selected.metrics["accuracy"], ensemble, single, selected.skipped,
    )  # fmt: skip
    if args.record:
        recorded = _record(workdir, view, request)
        if recorded is not None:
            return bad("ensemble", recorded)
    if args.format == "json":
        print(json.dumps(result.wire(), indent=2))
    else:
        _print(result)
    return EXIT_OK


def _record(workdir: Path, view: StudyView, request: EnsembleRequest) -> str | None:
    """Record the Ensemble trial on demand, under the workdir's lock; or why not."""
    store = FileStore(workdir)
    try:
        lock = store.lock()
    except StoreError as exc:
        return str(exc)
    try:
        records = store.load_trials()
        existing = ensemble_of(records)
        if existing is not None:
            where = store.trial_path(existing.metadata.name)
            return f"{view.name} already has its Ensemble trial ({where}); remove it first"
        record = new_record(view.name, records, request)
        by_name = {r.metadata.name: r for r in records}
        record.status = run_ensemble(view.spec, record, by_name, workdir)
        store.save_trial(record)
        store.sync()
    except StoreError as exc:
        return str(exc)
    finally:
        lock.release()
    print(f"Recorded {record.metadata.name} ({record.status.state})", file=sys.stderr)
    return None


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

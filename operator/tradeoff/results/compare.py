"""`tradeoff compare A B`: two studies' fronts and hypervolumes side by side.

Each study's hypervolume is on its own scale (as its status shows it); the shared one
scales both fronts over the feasible trials of both, so the two figures can be compared,
and the joint front marks which points neither study beats.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rich.markup import escape
from rich.table import Table

from tradeoff.api.trial import Trial
from tradeoff.arguments import path_text
from tradeoff.engine import pareto_front
from tradeoff.engine.pareto import completed, hypervolume_of, losses, nondominated_mask
from tradeoff.local.formatting import (
    format_metric,
    format_recommended,
    format_trial,
)
from tradeoff.results.common import EXIT_OK, add_cluster_arguments, bad, open_view, stdout_console
from tradeoff.results.source import SourceError, StudyView

__all__ = ["add_arguments", "main", "shared_hypervolumes"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("first", metavar="A", type=path_text, help="a local study or study/NAME")
    parser.add_argument("second", metavar="B", type=path_text, help="a local study or study/NAME")
    add_cluster_arguments(parser)


def shared_hypervolumes(a: StudyView, b: StudyView) -> tuple[float | None, float | None]:
    """Each study's front hypervolume, both scaled over the feasible trials of both."""
    done = completed(a.records), completed(b.records)
    if not done[0] and not done[1]:
        return None, None
    everything = losses(a.spec, [*done[0], *done[1]])

    def volume(trials: list[Trial]) -> float | None:
        if not trials:
            return None
        own = losses(a.spec, trials)
        return hypervolume_of(everything, own[nondominated_mask(own)])

    return volume(done[0]), volume(done[1])


def _facts(a: StudyView, b: StudyView) -> Table:
    table = Table(title="Studies", title_justify="left")
    table.add_column("")
    for view in (a, b):
        table.add_column(escape(view.name), overflow="fold")
    shared = shared_hypervolumes(a, b)

    def row(label: str, cell: Callable[[StudyView], str]) -> None:
        table.add_row(label, escape(cell(a)), escape(cell(b)))

    row("from", lambda v: v.where)
    row("state", lambda v: v.headline)
    row("trials", _counts)
    row("algorithm", lambda v: v.engine.algorithm)
    row("front", lambda v: str(v.summary.front_size))
    if len(a.spec.objectives) > 1:
        row("hypervolume (own scale)", lambda v: _hv(v.summary.hypervolume))
        table.add_row("hypervolume (shared scale)", _hv(shared[0]), _hv(shared[1]))
    for name in a.spec.objective_names:
        row(f"best {name}", lambda v, n=name: _best(v, n))  # type: ignore[misc]
    row("recommended", _recommended)
    row("spent", lambda v: format_metric("cost", v.summary.totals.cost_usd))
    return table


def _counts(view: StudyView) -> str:
    c = view.summary.counts
    return f"{c.created} created, {c.succeeded} succeeded, {c.failed} failed, {c.pruned} pruned"


def _hv(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _best(view: StudyView, name: str) -> str:
    value = view.summary.best.get(name)
    return "" if value is None else format_metric(name, value)


def _recommended(view: StudyView) -> str:
    rec = view.summary.recommended
    if rec is None:
        return ""
    return f"{rec.trial}: {format_recommended(rec, None)}"


def _fronts(a: StudyView, b: StudyView) -> Table:
    """Both fronts in one table, by the first objective; ◆ marks the joint front."""
    fronts = [(v, t) for v in (a, b) for t in pareto_front(v.spec, v.records)]
    joint: list[bool] = []
    if fronts:
        joint = nondominated_mask(losses(a.spec, [t for _, t in fronts])).tolist()
    table = Table(title="Pareto fronts (◆ on the joint front of both)", title_justify="left")
    table.add_column("study")
    table.add_column("trial", no_wrap=True)
    for o in a.spec.objectives:
        arrow = "↑" if o.direction == "maximize" else "↓"
        table.add_column(f"{o.name} {arrow}", justify="right")
    table.add_column("parameters", overflow="fold")
    first = a.spec.objectives[0]
    sign = -1.0 if first.direction == "maximize" else 1.0
    order = sorted(range(len(fronts)), key=lambda i: sign * (fronts[i][1].status.values or [0])[0])
    for i in order:
        view, trial = fronts[i]
        values = trial.status.values or []
        table.add_row(
            escape(view.name),
            escape(trial.metadata.name) + (" ◆" if joint[i] else ""),
            *(format_metric(n, v) for n, v in zip(a.spec.objective_names, values, strict=True)),
            escape(format_trial(trial, None)),
        )
    return table


def main(args: argparse.Namespace) -> int:
    try:
        a = open_view(args, args.first)
        b = open_view(args, args.second)
    except SourceError as exc:
        return bad("compare", exc)
    if [(o.name, o.direction) for o in a.spec.objectives] != [
        (o.name, o.direction) for o in b.spec.objectives
    ]:
        return bad(
            "compare",
            f"{args.first} and {args.second} have different objectives; compare needs the"
            " same objectives in the same order and directions",
        )
    out = stdout_console()
    out.print(_facts(a, b))
    out.print(_fronts(a, b))
    return EXIT_OK

"""The result of a study as `tradeoff run` and `tradeoff results show` print it on stdout.

The Pareto front as a table (prior trials marked), the recommended trial with why the
selection policy picked it, the trials' counts, what the study spent, the warm start
and algorithm, and the headline that says how the study ended.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import Summary
from tradeoff.engine.priors import Priors
from tradeoff.local.formatting import (
    algorithm_line,
    format_metric,
    format_recommended,
    format_trial,
    selection_reason,
)

__all__ = ["show_result"]


def show_result(
    console: Console,
    spec: StudySpec,
    records: Sequence[Trial],
    summary: Summary,
    headline: str,
    algorithm: AlgorithmChoice | None = None,
    priors: Priors | None = None,
    warm_line: str | None = None,
) -> None:
    """The Pareto front, the recommended trial and why, totals, and how the study ended.

    Prior trials (warm start) are on the front only with includeInFront, marked `prior`;
    `warm_line` (`Engine.priors_line`) says what they are, else `priors.describe()`.
    """
    names = spec.objective_names
    prior = {t.metadata.name: t for t in priors.front_trials} if priors else {}
    by_name = {**prior, **{r.metadata.name: r for r in records}}
    recommended = summary.recommended.trial if summary.recommended else None
    if summary.front:
        shown = "" if summary.front_size == len(summary.front) else f", {len(summary.front)} shown"
        table = Table(
            title=f"Pareto front ({summary.front_size} trial{'s' * (summary.front_size != 1)}"
            f"{shown})",
            title_justify="left",
        )
        table.add_column("trial", no_wrap=True)
        for objective in spec.objectives:
            arrow = "↑" if objective.direction == "maximize" else "↓"
            table.add_column(f"{objective.name} {arrow}", justify="right")
        # Parameters wrap (long values fold) instead of being cut off.
        table.add_column("parameters", overflow="fold")
        for point in sorted(
            summary.front, key=lambda p: (p.trial not in prior, by_name[p.trial].number)
        ):
            star = (" ★" if point.trial == recommended else "") + (
                " (prior)" if point.trial in prior else ""
            )
            params = format_trial(by_name[point.trial], limit=None)
            table.add_row(
                point.trial + star,
                *(format_metric(n, point.values[n]) for n in names),
                escape(params),
            )
        console.print(table)
    if summary.recommended is not None:
        rec = summary.recommended
        values = ", ".join(f"{n} {format_metric(n, rec.values[n])}" for n in names)
        console.print(f"[bold]Recommended[/] ({rec.policy}): [bold]{rec.trial}[/] ★  {values}")
        console.print(f"  why: {selection_reason(spec)}", highlight=False)
        console.print(f"  parameters: {escape(format_recommended(rec, None))}")
    c, t = summary.counts, summary.totals
    console.print(
        f"Trials: {c.created} created, {c.succeeded} succeeded, {c.failed} failed,"
        f" {c.pruned} pruned"
        + (f", {c.cancelled} cancelled" if c.cancelled else "")
        + (f"; Ensemble trial {summary.ensemble.state}" if summary.ensemble else "")
        + (
            f"; hypervolume {summary.hypervolume:.3f}"
            if len(names) > 1 and summary.hypervolume
            else ""
        )
    )
    trial_seconds = sum(
        e.duration_seconds
        for r in records
        if (e := r.status.economics) is not None and not r.is_ensemble  # its members'
    )
    console.print(
        f"Spent: {format_metric('cost', t.cost_usd)}, {format_metric('energy', t.energy_kwh)},"
        f" {format_metric('carbon', t.carbon_grams)}CO2e over {trial_seconds:.0f} s of trial time"
    )
    if line := warm_line or (priors.describe() if priors is not None else ""):
        console.print(f"Warm start: {escape(line)}", highlight=False)
    if algorithm is not None:
        console.print(algorithm_line(algorithm), highlight=False)
    console.print(headline, highlight=False)

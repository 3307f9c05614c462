"""What `tradeoff run` shows: live progress on stderr, the result as tables on stdout."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from tradeoff.api.space import ParamValue
from tradeoff.api.status import AlgorithmChoice, Recommendation
from tradeoff.api.study import StudySpec
from tradeoff.api.template import format_value
from tradeoff.api.trial import Trial
from tradeoff.engine import Summary
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.engine.priors import Priors

__all__ = [
    "NullDisplay",
    "RichDisplay",
    "RunDisplay",
    "algorithm_line",
    "format_metric",
    "format_parameters",
    "selection_reason",
]

_MARKS = {"Succeeded": "[green]✓[/]", "Failed": "[red]✗[/]", "Pruned": "[yellow]✂[/]"}


class RunDisplay(Protocol):
    """What the runner tells the person watching."""

    live: bool
    """Whether ``update`` shows anything (the runner summarises the study only then)."""

    def begin(
        self,
        spec: StudySpec,
        algorithm: AlgorithmChoice,
        records: Sequence[Trial],
        summary: Summary,
    ) -> None: ...

    def trial_started(self, record: Trial) -> None: ...

    def trial_finished(self, record: Trial) -> None: ...

    def update(self, records: Sequence[Trial], summary: Summary, elapsed: float) -> None: ...

    def warn(self, message: str) -> None: ...

    def insight(self, message: str) -> None:
        """An insight found for the first time (the operator's `Insight` event)."""

    def end(self) -> None: ...


class NullDisplay:
    """Shows nothing."""

    live = False

    def begin(
        self,
        spec: StudySpec,
        algorithm: AlgorithmChoice,
        records: Sequence[Trial],
        summary: Summary,
    ) -> None:
        pass

    def trial_started(self, record: Trial) -> None:
        pass

    def trial_finished(self, record: Trial) -> None:
        pass

    def update(self, records: Sequence[Trial], summary: Summary, elapsed: float) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def insight(self, message: str) -> None:
        pass

    def end(self) -> None:
        pass


def format_metric(name: str, value: float) -> str:
    """A metric value with its unit for the built-in ones."""
    if name == "cost":
        return f"${value:.3g}"
    if name == "carbon":
        return f"{value:.3g} g"
    if name == "energy":
        return f"{value:.3g} kWh"
    if name == "duration":
        return f"{value:.1f} s"
    return f"{value:.4g}"


def format_parameters(parameters: Mapping[str, ParamValue], limit: int | None = 60) -> str:
    """``name=value`` pairs (floats to 3 significant digits), cut at ``limit`` characters
    (``None``: whole; tables wrap them instead)."""
    parts = [
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={format_value(v)}"
        for k, v in parameters.items()
    ]
    text = " ".join(parts)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def format_members(members: Mapping[str, float], limit: int | None = 60) -> str:
    """An Ensemble trial's members and weights: ``Ensemble of a:0.50 b:0.25 ...``."""
    text = "Ensemble of " + " ".join(f"{t}:{w:.2f}" for t, w in members.items())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def format_trial(record: Trial, limit: int | None = 60) -> str:
    """A trial's parameters, or an Ensemble trial's members."""
    if record.is_ensemble:
        ensemble = record.status.ensemble
        members = {m.trial: m.weight for m in ensemble.members} if ensemble else {}
        return format_members(members, limit)
    return format_parameters(record.spec.parameters, limit)


def format_recommended(rec: Recommendation, limit: int | None = 60) -> str:
    """The recommended trial's parameters, or its members when it is an ensemble."""
    if rec.members is not None:
        return format_members(rec.members, limit)
    return format_parameters(rec.parameters, limit)


def algorithm_line(algorithm: AlgorithmChoice) -> str:
    """`Algorithm: tpe (auto: categorical or conditional parameters)`."""
    return f"Algorithm: {algorithm.name} ({escape(algorithm.reason)})"


def selection_reason(spec: StudySpec) -> str:
    """Why the selection policy picks the trial it picks, in words."""
    sel = spec.selection
    names = spec.objective_names
    if len(names) == 1:
        return f"the best {names[0]} (one objective: the front is the best trial)"
    if sel.policy == "knee":
        return "the front point nearest the ideal point, each objective scaled to [0, 1]"
    if sel.policy == "weighted-sum":
        weights = ", ".join(f"{k} {v:g}" for k, v in (sel.weights or {}).items())
        return f"the smallest weighted sum of the scaled objectives ({weights})"
    if sel.policy == "epsilon-constraint":
        limits = ", ".join(
            f"{c.metric}{' <= ' + format(c.max, 'g') if c.max is not None else ''}"
            f"{' >= ' + format(c.min, 'g') if c.min is not None else ''}"
            for c in spec.constraints
        )
        best = sel.objective or names[0]
        return f"the best {best} on the feasible front" + (f" ({limits})" if limits else "")
    return "best by " + " then ".join(sel.order or names)


class RichDisplay:
    """A progress bar (trials done/total, running, elapsed, best values) and trial lines."""

    def __init__(self, console: Console, *, bar: bool = True, trial_lines: bool = True) -> None:
        self.console = console
        self.bar = bar and console.is_terminal
        self.live = self.bar
        self.trial_lines = trial_lines
        self.spec: StudySpec | None = None
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def begin(
        self,
        spec: StudySpec,
        algorithm: AlgorithmChoice,
        records: Sequence[Trial],
        summary: Summary,
    ) -> None:
        self.spec = spec
        if self.trial_lines:
            self.console.print(algorithm_line(algorithm), highlight=False)
        if not self.bar:
            return
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[running]} running"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[best]}"),
            console=self.console,
            transient=True,
        )
        self.task = self.progress.add_task(
            "trials", total=spec.budget.max_trials, running=0, best=""
        )
        self.progress.start()
        self.update(records, summary, 0.0)

    def trial_started(self, record: Trial) -> None:
        pass

    def trial_finished(self, record: Trial) -> None:
        if not self.trial_lines or self.spec is None:
            return
        status = record.status
        mark = _MARKS.get(status.state, "·")
        name = escape(record.metadata.name)
        took = status.economics.duration_seconds if status.economics else 0.0
        if status.state == "Succeeded" and status.values is not None:
            values = "  ".join(
                f"{n} {format_metric(n, v)}"
                for n, v in zip(self.spec.objective_names, status.values, strict=True)
            )
            note = "" if status.feasible is not False else "  [yellow](infeasible)[/]"
            text = f"{mark} {name}  {values}{note}"
        elif waits_for_resume(status.state, status.reason):
            text = f"{mark} {name}  {escape(status.message or 'cancelled')}"
        else:
            why = f"{status.reason}: {status.message}" if status.message else status.reason
            text = f"{mark} {name}  {status.state.lower()}  [dim]{escape(why or '')}[/]"
        params = escape(format_trial(record))
        line = f"{text}  [dim]{took:.1f} s  {params}[/]"
        self.console.print(line, highlight=False, soft_wrap=True)

    def update(self, records: Sequence[Trial], summary: Summary, elapsed: float) -> None:
        if self.progress is None or self.task is None:
            return
        finished = sum(1 for r in records if r.finished)
        running = sum(1 for r in records if r.state == "Running")
        best = "  ".join(f"best {n} {format_metric(n, v)}" for n, v in summary.best.items())
        self.progress.update(self.task, completed=finished, running=running, best=best)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False)

    def insight(self, message: str) -> None:
        if self.trial_lines:
            self.console.print(f"[cyan]insight:[/] {escape(message)}", highlight=False)

    def end(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


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

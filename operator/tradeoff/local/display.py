"""What `tradeoff run` shows while it runs: live progress and a line per trial on stderr.

`RunDisplay` is what the runner tells the person watching; `RichDisplay` shows it (a
progress bar on a terminal, a line per ended trial), `NullDisplay` shows nothing. The
result at the end is `result_tables.show_result`; the words for values and parameters
are `formatting`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
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

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import Summary
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.local.formatting import algorithm_line, format_metric, format_trial

__all__ = ["NullDisplay", "RichDisplay", "RunDisplay"]

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

"""How a local run ended: what `StudyRunner.run` returns."""

from __future__ import annotations

from dataclasses import dataclass

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.trial import Trial
from tradeoff.engine import Engine, StopDecision, Summary
from tradeoff.engine.priors import Priors


@dataclass(frozen=True)
class RunResult:
    """How a run ended. ``interrupted``: stopped by a signal, the study is not over."""

    state: str
    reason: str
    message: str
    records: list[Trial]
    summary: Summary
    interrupted: bool = False
    algorithm: AlgorithmChoice | None = None
    priors: Priors | None = None
    warm_line: str = ""
    """What the prior trials are and whether they inform the sampler (`Engine.priors_line`)."""


def interrupted_result(
    records: list[Trial], summary: Summary, algorithm: AlgorithmChoice, engine: Engine
) -> RunResult:
    """A run stopped by a signal: its unfinished trials re-run when it resumes."""
    active = sum(1 for r in records if r.state in ("Pending", "Running"))
    message = f"{active} unfinished trial(s) will re-run on resume"
    return RunResult(
        "Running",
        "Interrupted",
        message,
        records,
        summary,
        True,
        algorithm,
        engine.priors,
        engine.priors_line(records),
    )


def ended_result(
    decision: StopDecision,
    records: list[Trial],
    summary: Summary,
    algorithm: AlgorithmChoice,
    engine: Engine,
) -> RunResult:
    """A run that a stop rule ended: the study's final state."""
    return RunResult(
        decision.state,
        decision.reason,
        decision.message,
        records,
        summary,
        algorithm=algorithm,
        priors=engine.priors,
        warm_line=engine.priors_line(records),
    )

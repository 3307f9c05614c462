"""The optimisation engine: pure decisions over trial records (no I/O)."""

from __future__ import annotations

from tradeoff.engine.attempt_ending import AttemptOutcome
from tradeoff.engine.core import Engine, Suggestion, derive_seed
from tradeoff.engine.importance import Importance, param_importances
from tradeoff.engine.lifecycle import Transition
from tradeoff.engine.outcome import (
    Evaluation,
    all_metrics,
    builtin_metrics,
    counted_cost,
    reported_energy_kwh,
    violation_lines,
)
from tradeoff.engine.pareto import normalised_hypervolume, pareto_front
from tradeoff.engine.progress import StopDecision, Summary, running_best
from tradeoff.engine.pruning import PruneDecision
from tradeoff.engine.records import RecordBook, SharedRecords
from tradeoff.engine.samplers import resolve_algorithm
from tradeoff.engine.selection import best_for, recommend

__all__ = [
    "AttemptOutcome",
    "Engine",
    "Evaluation",
    "Importance",
    "PruneDecision",
    "RecordBook",
    "SharedRecords",
    "StopDecision",
    "Suggestion",
    "Summary",
    "Transition",
    "all_metrics",
    "best_for",
    "builtin_metrics",
    "counted_cost",
    "derive_seed",
    "normalised_hypervolume",
    "param_importances",
    "pareto_front",
    "recommend",
    "reported_energy_kwh",
    "resolve_algorithm",
    "running_best",
    "violation_lines",
]

"""Warm start: earlier trials matched to this study's space and objectives (prior trials).

Pure and deterministic: the same source records give the same priors, in the same order,
so a restarted engine proposes what a running one would. A prior trial informs the sampler
(it is an Optuna trial before the study's own), never counts against the budget, and is on
the Pareto front only with `warmStart.includeInFront`. Matching is by name: a parameter the
new space lacks is ignored; a value outside the new space or of another type is dropped
(and counted); objective values are taken by objective name, else from a metric of that
name; a trial without a value of every objective is dropped (and counted).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tradeoff.api.space import ParamValue
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial, TrialMeta, TrialSpec, TrialStatus
from tradeoff.engine import branch_leaders, outcome
from tradeoff.engine.space import SearchSpace

PRIOR_LABEL = "tradeoff.dev/prior"
"""Label of a prior trial's record (value: its source)."""
SPEC_SOURCE = "warmStart.trials"

DROPPED_VALUE = "values outside the space or of another type"
NO_PARAMETER = "trials with no parameter of this space"
NO_OBJECTIVE = "trials without a value of every objective"
UNFINISHED = "trials that did not succeed"


@dataclass(frozen=True)
class Source:
    """An earlier study: its name (as shown), objective names in order, and its records."""

    name: str
    objectives: Sequence[str]
    records: Sequence[Trial]


@dataclass(frozen=True)
class Priors:
    """What a warm start gives the engine.

    `trials` are prior records (state Succeeded, values in this study's objective order),
    numbered from 0 in source order; `points` are configurations to run as the first
    trials; `dropped` counts what was left out, by reason; `used` counts priors per source.
    """

    trials: list[Trial] = field(default_factory=list)
    points: list[dict[str, ParamValue]] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    include_in_front: bool = False
    paced_order: list[int] | None = None
    """With `warmStart.paceByBranch`: the indices of `trials`, best first (else None)."""

    @property
    def front_trials(self) -> list[Trial]:
        """The priors the Pareto front considers (none unless includeInFront)."""
        return self.trials if self.include_in_front else []

    def describe(self) -> str:
        """One line for status and logs, e.g. `12 prior trials (a: 12); dropped: 3 values ...`."""
        if not self.trials and not self.points and not self.dropped:
            return ""
        parts = []
        if self.trials:
            per = ", ".join(f"{name}: {n}" for name, n in self.used.items())
            parts.append(f"{_count(len(self.trials), 'prior trial')} ({per})")
        if self.points:
            parts.append(f"{_count(len(self.points), 'configuration')} to run first")
        if self.dropped:
            parts.append(
                "dropped: " + ", ".join(f"{n} {why}" for why, n in sorted(self.dropped.items()))
            )
        return "; ".join(parts)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def match(spec: StudySpec, sources: Sequence[Source]) -> Priors:
    """The priors of `spec` from its sources' records and `spec.warmStart.trials`."""
    warm = spec.warm_start
    space = SearchSpace(spec.parameters)
    kinds = {p.name: p.type for p in spec.parameters}
    choices = {p.name: p.values or [] for p in spec.parameters}
    trials: list[Trial] = []
    dropped: Counter[str] = Counter()
    used: Counter[str] = Counter()

    def add(source: str, name: str, params: Mapping[str, Any], metrics: dict[str, float]) -> None:
        kept = _fitting(space, kinds, choices, params)
        dropped[DROPPED_VALUE] += sum(1 for k in params if k in space.distributions) - len(kept)
        values = [metrics.get(n) for n in spec.objective_names]
        if not kept:
            dropped[NO_PARAMETER] += 1
        elif any(v is None or not math.isfinite(v) for v in values):
            dropped[NO_OBJECTIVE] += 1
        else:
            trials.append(_record(spec, len(trials), source, name, kept, values, metrics))
            used[source] += 1

    for source in sources:
        for r in sorted(source.records, key=lambda r: r.number):
            if r.is_ensemble:  # not a configuration of the space: no prior
                continue
            if r.state != "Succeeded" or r.status.values is None:
                dropped[UNFINISHED] += 1
                continue
            metrics = outcome.all_metrics(r.status.metrics, r.status.economics)
            metrics.update(zip(source.objectives, r.status.values, strict=False))
            add(source.name, f"{source.name}/{r.metadata.name}", r.spec.parameters, metrics)
    points: list[dict[str, ParamValue]] = []
    for i, point in enumerate(warm.trials if warm else []):
        if point.values is None:
            points.append(dict(point.parameters))
        else:
            add(SPEC_SOURCE, f"{SPEC_SOURCE}[{i}]", point.parameters, dict(point.values))
    if warm and warm.best_per_branch_first:
        points += [p for p in branch_leaders.leaders(spec, trials) if p not in points]
    return Priors(
        trials=trials,
        points=points,
        dropped={k: v for k, v in dropped.items() if v},
        used=dict(used),
        include_in_front=bool(warm and warm.include_in_front),
        paced_order=branch_leaders.ranked(spec, trials) if warm and warm.pace_by_branch else None,
    )


def _fitting(
    space: SearchSpace,
    kinds: Mapping[str, str],
    choices: Mapping[str, Sequence[ParamValue]],
    params: Mapping[str, Any],
) -> dict[str, ParamValue]:
    """The values that belong to this space: right type (a bool is no number) and range."""
    kept, _ = space.known(params)
    out: dict[str, ParamValue] = {}
    for name, value in kept.items():
        kind = kinds[name]
        if kind == "categorical":
            if any(type(c) is type(value) for c in choices[name] if c == value):
                out[name] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if kind == "float":
                out[name] = float(value)
            elif float(value).is_integer():
                out[name] = int(value)
    return out


def _record(
    spec: StudySpec,
    number: int,
    source: str,
    name: str,
    params: dict[str, ParamValue],
    values: Sequence[float | None],
    metrics: dict[str, float],
) -> Trial:
    feasible = all(v <= 0 for v in outcome.constraint_values(spec, metrics))
    return Trial(
        metadata=TrialMeta(name=name, labels={PRIOR_LABEL: source}),
        spec=TrialSpec(study=source, number=number, parameters=params),
        status=TrialStatus(
            state="Succeeded",
            values=[float(v) for v in values if v is not None],
            metrics=metrics,
            feasible=feasible,
            reason="Prior",
            message=f"prior trial from {source}",
        ),
    )

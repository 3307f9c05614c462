"""What a finished trial attempt means: objective values, feasibility, or why it failed.

Shared by local mode and the operator. A trial's objective values (including the
built-in `cost`, `carbon`, `energy`, `duration`) come from the attempt that produced its
metrics, the final one: pass that attempt's economics to `evaluate`. The trial's
`status.economics` is the sum over every attempt (failed ones cost money too).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import VALUE_LIMIT


def builtin_metrics(economics: TrialEconomics | None) -> dict[str, float]:
    """The metrics Tradeoff computes itself (cost USD, carbon gCO2e, energy kWh, duration s)."""
    if economics is None:
        return {}
    return {
        "cost": economics.cost_usd,
        "carbon": economics.carbon_grams,
        "energy": economics.energy_kwh,
        "duration": economics.duration_seconds,
    }


def reported_energy_kwh(reported: Mapping[str, float]) -> float | None:
    """The energy (kWh) a trial measured itself and reported as metric `energy`, if usable.

    When present it replaces the estimate from requested resources (`price_trial`'s
    `energy_kwh`), in both modes.
    """
    energy = reported.get("energy")
    if energy is None or not math.isfinite(energy) or energy < 0:
        return None
    return float(energy)


def all_metrics(
    reported: Mapping[str, float], economics: TrialEconomics | None
) -> dict[str, float]:
    """Reported metrics with the built-in ones on top (those are computed, not trusted)."""
    return {**reported, **builtin_metrics(economics)}


def constraint_values(spec: StudySpec, metrics: Mapping[str, float]) -> list[float]:
    """One value per constraint, <= 0 when satisfied (Optuna's convention)."""
    out = []
    for c in spec.constraints:
        value = metrics.get(c.metric)
        if value is None or not math.isfinite(value):
            out.append(math.inf)
            continue
        worst = -math.inf
        if c.max is not None:
            worst = max(worst, value - c.max)
        if c.min is not None:
            worst = max(worst, c.min - value)
        out.append(worst)
    return out


@dataclass(frozen=True)
class Evaluation:
    """Objective values and feasibility of an attempt, or the reason it counts as failed."""

    values: list[float] | None
    feasible: bool = True
    violations: dict[str, float] = field(default_factory=dict)
    failure_reason: str | None = None
    failure_message: str | None = None


def evaluate(
    spec: StudySpec,
    reported: Mapping[str, float],
    economics: TrialEconomics | None,
    invalid: Mapping[str, float] | None = None,
) -> Evaluation:
    """Judge a trial attempt that exited cleanly; `economics` are that attempt's own and
    `invalid` the metrics whose final value was NaN or infinite (never kept as values)."""
    metrics = all_metrics(reported, economics)
    invalid = invalid or {}
    bad = [n for n in spec.objective_names if n in metrics and not _usable(metrics[n])]
    bad += [n for n in spec.objective_names if n not in metrics and n in invalid]
    if bad:
        shown = ", ".join(f"{n}={metrics.get(n, invalid.get(n))}" for n in bad)
        return Evaluation(
            values=None,
            feasible=False,
            failure_reason="MetricsInvalid",
            failure_message=f"objective(s) not a finite number within ±{VALUE_LIMIT:g}: {shown}",
        )
    missing = [name for name in spec.objective_names if name not in metrics]
    if missing:
        seen = ", ".join(sorted(reported)) or "none"
        return Evaluation(
            values=None,
            feasible=False,
            failure_reason="MetricsMissing",
            failure_message=f"no value for objective(s) {', '.join(missing)} (reported: {seen})",
        )
    cvals = constraint_values(spec, metrics)
    violations = {
        c.metric: (v if math.isfinite(v) else -1.0)
        for c, v in zip(spec.constraints, cvals, strict=True)
        if v > 0
    }
    return Evaluation(
        values=[metrics[n] for n in spec.objective_names],
        feasible=not violations,
        violations=violations,
    )


def violation_lines(
    spec: StudySpec, reported: Mapping[str, float], economics: TrialEconomics | None
) -> list[str]:
    """One line per violated constraint, naming the metric, its value and the bound."""
    metrics = all_metrics(reported, economics)
    lines = []
    for c, excess in zip(spec.constraints, constraint_values(spec, metrics), strict=True):
        if excess <= 0:
            continue
        pairs = (("min", c.min), ("max", c.max))
        bounds = " and ".join(f"{word} {bound:g}" for word, bound in pairs if bound is not None)
        value = metrics.get(c.metric)
        if value is None or not math.isfinite(value):
            lines.append(f"{c.metric} was not reported ({bounds})")
        elif c.max is not None and value > c.max:
            lines.append(f"{c.metric}={value:.4g} is above its max {c.max:g}")
        else:
            lines.append(f"{c.metric}={value:.4g} is below its min {c.min:g}")
    return lines


def counted_cost(spec: StudySpec, values: Sequence[float] | None) -> float | None:
    """USD of the attempt whose metrics count (the trial's `cost` objective value), when
    `cost` is an objective; the trial's `status.economics` holds the sum of all attempts."""
    if values is None or "cost" not in spec.objective_names:
        return None
    return values[spec.objective_names.index("cost")]


def _usable(value: float) -> bool:
    """Whether an objective's value can be one (finite, within ±`VALUE_LIMIT`)."""
    return math.isfinite(value) and abs(value) <= VALUE_LIMIT

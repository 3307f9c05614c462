"""Insights about how trials ran: measurement noise where a configuration ran more than
once, a cheaper resource setting that loses nothing, and what pruning would have saved."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import optuna
from optuna.trial import TrialState, create_trial

from tradeoff.api.space import ParamValue
from tradeoff.api.status import Insight
from tradeoff.api.study import BUILTIN_METRICS
from tradeoff.api.trial import Trial
from tradeoff.engine.insight_data import Data, bins, groups_p, num, pct
from tradeoff.engine.space import config_key

NOISE_SDS = 2.0
"""Two standard deviations of the measured noise: a difference smaller than that is noise."""
COST_MIN_TRIALS = 10
"""No verdict about what drives cost from fewer trials with the parameter set."""
COST_P, COST_RHO = 0.01, 0.5
"""A parameter drives cost when cost rises (or falls) with it: Spearman |rho| >= 0.5 with
p < 0.01 (numeric), or its values' costs differ with Kruskal-Wallis p < 0.01 (categorical)."""
PRUNE_MIN_CURVES = 6
"""Trials with intermediate values needed: Optuna's median pruner waits for five."""
PRUNE_CHECKPOINTS = 20
"""Steps of each curve at which the pruner is asked, at most (evenly spread)."""


def noise(records: Sequence[Trial], names: Sequence[str]) -> tuple[list[Insight], dict[str, float]]:
    """Per objective, the spread between runs of one configuration (pooled standard
    deviation) next to the spread across all succeeded trials; and those spreads."""
    runs: dict[tuple[object, ...], list[list[float]]] = {}
    everything: list[list[float]] = []
    for r in records:
        if r.state == "Succeeded" and r.status.values is not None:
            runs.setdefault(config_key(r.spec.parameters), []).append(r.status.values)
            everything.append(r.status.values)
    repeated = [np.array(v) for v in runs.values() if len(v) > 1]
    if not repeated:
        return [], {}
    n_runs = sum(len(v) for v in repeated)
    out: list[Insight] = []
    sds: dict[str, float] = {}
    overall = np.array(everything).std(axis=0, ddof=1)
    for j, name in enumerate(names):
        squares = sum(float(((v[:, j] - v[:, j].mean()) ** 2).sum()) for v in repeated)
        sd = math.sqrt(squares / (n_runs - len(repeated)))
        sds[name] = sd
        share = sd / float(overall[j]) if overall[j] > 0 else 0.0
        message = (
            f"{name}: runs of the same configuration differ by a standard deviation of"
            f" {num(sd)} ({len(repeated)} configurations run {n_runs} times), {pct(share)}"
            " of its spread across all trials"
        )
        evidence: dict[str, float | int | str] = {
            "sd": float(f"{sd:.4g}"),
            "shareOfSpread": round(share, 4),
            "configurations": len(repeated),
            "runs": n_runs,
        }
        out.append(Insight(kind="noise", subject=name, message=message, evidence=evidence))
    return out, sds


def cheaper_resource(data: Data) -> list[tuple[float, Insight]]:
    """Parameters that drive a trial's cost where the cheaper values reach, on every
    objective that is not itself a cost, a best value as good as the costlier values'
    (within two standard deviations of the measured noise, where repeats measured it)."""
    quality = [j for j, o in enumerate(data.spec.objectives) if o.name not in BUILTIN_METRICS]
    costs = [t.status.economics.cost_usd if t.status.economics else None for t in data.trials]
    if not quality or any(c is None for c in costs):
        return []
    cost = np.array(costs, dtype=float)
    out: list[tuple[float, Insight]] = []
    for p in data.spec.parameters:
        index, values = data.active(p.name)
        if len(index) < COST_MIN_TRIALS or np.ptp(cost[index]) == 0:
            continue
        split = _cheap_split(values, cost[index], p.type != "categorical")
        if split is None:
            continue
        cheap, costly, label = split
        lost: list[str] = []
        said: list[str] = []
        for j in quality:
            name = data.spec.objectives[j].name
            best_cheap = float(data.losses[index[cheap], j].min())
            best_costly = float(data.losses[index[costly], j].min())
            tolerance = NOISE_SDS * data.noise_sd.get(name, 0.0)
            sign = data.sign(j)
            said.append(f"{name} {num(sign * best_cheap)} vs {num(sign * best_costly)}")
            if best_cheap > best_costly + tolerance:
                lost.append(name)
        if lost:
            continue
        median_cheap = float(np.median(cost[index[cheap]]))
        median_costly = float(np.median(cost[index[costly]]))
        saving = 1 - median_cheap / median_costly if median_costly > 0 else 0.0
        message = (
            f"{p.name}: trials with {label} cost {pct(saving)} less (median"
            f" ${num(median_cheap)} vs ${num(median_costly)}) and lose nothing: best"
            f" {'; '.join(said)}"
        )
        evidence: dict[str, float | int | str] = {
            "cheaperValues": label,
            "medianCostCheaper": float(f"{median_cheap:.4g}"),
            "medianCostCostlier": float(f"{median_costly:.4g}"),
            "saving": round(saving, 4),
            "trialsCheaper": len(cheap),
            "trialsCostlier": len(costly),
        }
        insight = Insight(
            kind="cheaper-resource", subject=p.name, message=message, evidence=evidence
        )
        out.append((saving, insight))
    return out


def _cheap_split(
    values: list[ParamValue], cost: np.ndarray, numeric: bool
) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(positions of the cheaper trials, of the costlier ones, the cheaper values in words)
    when the parameter drives cost, else None."""
    if numeric:
        x = np.array(values, dtype=float)
        if np.ptp(x) == 0:
            return None
        from scipy.stats import spearmanr  # imported when used: 1.5 s

        rho, p_value = spearmanr(x, cost)
        if not (abs(rho) >= COST_RHO and p_value < COST_P):
            return None
        middle = float(np.median(x))
        cheap_low = rho > 0
        cheap = np.flatnonzero(x <= middle if cheap_low else x >= middle)
        costly = np.flatnonzero(x > middle if cheap_low else x < middle)
        label = f"{'<=' if cheap_low else '>='} {num(middle)}"
    else:
        groups = bins(values, False, 3)
        if len(groups) < 2 or groups_p([cost[g] for g in groups]) >= COST_P:
            return None
        cheapest = min(groups, key=lambda g: float(np.median(cost[g])))
        cheap = cheapest
        costly = np.setdiff1d(np.arange(len(values)), cheapest)
        label = f"= {values[int(cheapest[0])]}"
    if len(cheap) < 3 or len(costly) < 3:
        return None
    return cheap, costly, label


def pruning_savings(data: Data) -> list[tuple[float, Insight]]:
    """Replays Optuna's median pruner (defaults: five trials first, no warm-up steps) over
    the curves of the pruning metric, trials in number order, each judged against those
    before it: which would have stopped, the run time and cost after that step, and how
    many of them ended on the Pareto front (what pruning would have lost)."""
    metric = data.spec.pruning_metric
    direction = next(o.direction for o in data.spec.objectives if o.name == metric)
    curves = [t for t in data.trials if len(t.status.intermediate) >= 2]
    if len(curves) < PRUNE_MIN_CURVES:
        return []
    study = optuna.create_study(direction=direction)
    pruner = optuna.pruners.MedianPruner()
    stopped: list[tuple[Trial, float]] = []
    total_seconds = total_cost = saved_seconds = saved_cost = 0.0
    for t in curves:
        points = {s.step: s.value for s in t.status.intermediate}
        steps = sorted(points)
        economics = t.status.economics
        seconds = economics.duration_seconds if economics else 0.0
        cost = economics.cost_usd if economics else 0.0
        total_seconds, total_cost = total_seconds + seconds, total_cost + cost
        picks = np.unique(np.linspace(0, len(steps) - 2, PRUNE_CHECKPOINTS).round().astype(int))
        for i in picks.tolist():
            running = create_trial(
                state=TrialState.RUNNING,
                intermediate_values={s: points[s] for s in steps[: i + 1]},
            )
            if pruner.prune(study, running):
                share = (len(steps) - i - 1) / len(steps)
                stopped.append((t, share))
                saved_seconds, saved_cost = (
                    saved_seconds + share * seconds,
                    saved_cost + share * cost,
                )
                break
        final = t.status.metrics.get(metric, points[steps[-1]])
        study.add_trial(
            create_trial(state=TrialState.COMPLETE, value=final, intermediate_values=points)
        )
    if not stopped:
        return []
    lost = sum(1 for t, _ in stopped if t.metadata.name in data.front)
    share = saved_seconds / total_seconds if total_seconds > 0 else 0.0
    message = (
        f"a median pruner on {metric} would have stopped {len(stopped)} of {len(curves)}"
        f" trials with intermediate values, saving {pct(share)} of their run time"
        f" ({num(saved_seconds)} s, ${num(saved_cost)}); {lost} of them ended on the"
        " Pareto front"
    )
    evidence: dict[str, float | int | str] = {
        "trials": len(curves),
        "stopped": len(stopped),
        "secondsSaved": round(saved_seconds, 3),
        "costSavedUSD": float(f"{saved_cost:.4g}"),
        "shareOfTimeSaved": round(share, 4),
        "stoppedOnFront": lost,
    }
    insight = Insight(kind="pruning-savings", subject=metric, message=message, evidence=evidence)
    return [(share, insight)]

"""Insights about the search space: best values at a range's edge, parameters without a
measurable effect, categorical values never on the front.

Each check states the bound it tests against; every bound is chosen so that a study of
pure noise (objectives independent of every parameter) rarely passes it.
"""

from __future__ import annotations

import numpy as np
from optuna.study._multi_objective import _fast_non_domination_rank

from tradeoff.api.status import Insight
from tradeoff.engine.insight_data import Data, bins, groups_p, num, pct, position

EDGE_BAND = 0.2
"""An edge is the outer fifth of a range (on a log scale for log parameters)."""
EDGE_TOP_MIN, EDGE_TOP_MAX, EDGE_MIN_TRIALS = 4, 10, 12
"""The best k trials (a tenth of them, 4 to 10) must all sit in one edge band: with values
drawn at random that happens with probability 2 x 0.2^4 = 0.3% at most per parameter and
objective. Fewer than 12 trials with the parameter set say nothing."""

NO_EFFECT_MIN_TRIALS = 20
"""No verdict of "no effect" from fewer trials with the parameter set."""
NO_EFFECT_SHARE = 0.05
"""fANOVA share of each objective's variance below which a parameter explains nothing
next to the others (where fANOVA can rank it: set in every trial)."""
NO_EFFECT_P = 0.05
"""... and the trials grouped by its value (categorical) or its quartile (numeric) must
not differ significantly: Kruskal-Wallis p-value of at least this, for every objective.
Both bounds must hold: a share is relative to the other parameters (with pure noise each
of three parameters gets about a third), and a test alone can miss a small effect."""

NEVER_MIN_TRIALS = 5
"""A categorical value needs this many succeeded trials before "never on the front"."""
NEVER_P = 0.01
"""... and its trials' Pareto layers must be worse than the other trials' (one-sided
Mann-Whitney p-value below this): with few trials on the front, "none of them" alone is
what chance gives a rarely drawn value."""


def edges(data: Data) -> list[tuple[float, Insight]]:
    """Numeric parameters whose best trials for an objective all sit at one end."""
    out: list[tuple[float, Insight]] = []
    for p in data.spec.parameters:
        if p.type == "categorical":
            continue
        index, values = data.active(p.name)
        if len(index) < EDGE_MIN_TRIALS:
            continue
        where = np.array([position(p, float(v)) for v in values])
        k = max(EDGE_TOP_MIN, min(EDGE_TOP_MAX, len(index) // 10))
        for j, objective in enumerate(data.spec.objectives):
            order = np.argsort(data.losses[index, j], kind="stable")[:k]
            top = where[order]
            if np.all(top >= 1 - EDGE_BAND):
                side, bound = "high", p.high
            elif np.all(top <= EDGE_BAND):
                side, bound = "low", p.low
            else:
                continue
            best = float(values[int(order[0])])
            span = f"[{num(p.low or 0.0)}, {num(p.high or 0.0)}]"
            message = (
                f"{p.name}: the {k} best trials for {objective.name} all sit in the"
                f" {side} {pct(EDGE_BAND)} of its range {span} (best at {num(best)});"
                f" the optimum may lie beyond {side}={num(bound or 0.0)}"
            )
            closeness = float(np.mean(top if side == "low" else 1 - top))
            evidence: dict[str, float | int | str] = {
                "side": side,
                "best": best,
                "low": float(p.low or 0.0),
                "high": float(p.high or 0.0),
                "topTrials": k,
                "meanDistanceToEdge": round(closeness, 4),
            }
            insight = Insight(
                kind="edge",
                subject=p.name,
                objective=objective.name,
                message=message,
                evidence=evidence,
            )
            out.append((1 - closeness, insight))
    return out


def no_effect(data: Data, shares: dict[str, dict[str, float]]) -> list[tuple[float, Insight]]:
    """Parameters that neither fANOVA nor a comparison of groups finds any effect of."""
    out: list[tuple[float, Insight]] = []
    names = data.spec.objective_names
    for p in data.spec.parameters:
        index, values = data.active(p.name)
        if len(index) < NO_EFFECT_MIN_TRIALS:
            continue
        groups = bins(values, p.type != "categorical", 3)
        if len(groups) < 2:
            continue
        p_values = [groups_p([data.losses[index[g], j] for g in groups]) for j in range(len(names))]
        share = [shares.get(n, {}).get(p.name) for n in names]
        known = [s for s in share if s is not None]
        if min(p_values) < NO_EFFECT_P or any(s >= NO_EFFECT_SHARE for s in known):
            continue
        top_share = max(known) if known else None
        said = f", fANOVA share at most {pct(top_share)}" if top_share is not None else ""
        message = (
            f"{p.name}: no measurable effect on {', '.join(names)} over {len(index)}"
            f" trials (groups compared: Kruskal-Wallis p >= {min(p_values):.2f}{said});"
            " it could be fixed"
        )
        evidence: dict[str, float | int | str] = {
            "trials": len(index),
            "minPValue": round(min(p_values), 4),
        }
        if top_share is not None:
            evidence["maxShare"] = round(top_share, 4)
        insight = Insight(kind="no-effect", subject=p.name, message=message, evidence=evidence)
        out.append((min(p_values), insight))
    return out


def never_on_front(data: Data) -> list[tuple[float, Insight]]:
    """Categorical values tried often, never on the front, and worse than the rest."""
    out: list[tuple[float, Insight]] = []
    if not data.front or len(data.trials) < 2 * NEVER_MIN_TRIALS:
        return out
    layers = _fast_non_domination_rank(data.losses)
    names = [t.metadata.name for t in data.trials]
    for p in data.spec.parameters:
        if p.type != "categorical":
            continue
        index, values = data.active(p.name)
        for value in p.values or []:
            mine = [int(i) for i, v in zip(index, values, strict=True) if v == value]
            if len(mine) < NEVER_MIN_TRIALS or any(names[i] in data.front for i in mine):
                continue
            rest = np.setdiff1d(index, mine)
            if len(rest) < NEVER_MIN_TRIALS:
                continue
            from scipy.stats import mannwhitneyu  # imported when used: 1.5 s

            test = mannwhitneyu(layers[mine], layers[rest], alternative="greater")
            p_value = float(test.pvalue)
            if not p_value < NEVER_P:
                continue
            ours, theirs = float(np.median(layers[mine])), float(np.median(layers[rest]))
            message = (
                f"{p.name}={value}: {len(mine)} trials, none on the Pareto front; their"
                f" median front layer is {num(ours + 1)} against {num(theirs + 1)} for the"
                f" other values (Mann-Whitney p={p_value:.2g})"
            )
            evidence: dict[str, float | int | str] = {
                "value": str(value),
                "trials": len(mine),
                "medianLayer": ours + 1,
                "othersMedianLayer": theirs + 1,
                "pValue": float(f"{p_value:.3g}"),
            }
            insight = Insight(
                kind="never-on-front",
                subject=f"{p.name}={value}",
                message=message,
                evidence=evidence,
            )
            out.append((1 - p_value, insight))
    return out

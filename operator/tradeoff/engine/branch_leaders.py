"""The prior trials' best configuration in each branch of the space, to run first
(`warmStart.bestPerBranchFirst`).

A branch is a value of a categorical parameter that other parameters depend on (`when`),
such as each model family of a CASH space. Priors that agree with a new study except in
which branch is best keep the sampler in the earlier study's best branch; running each
branch's best-known configuration first gives the new study a result of its own in every
branch. Pure: the same priors give the same configurations in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence

from tradeoff.api.space import ParamValue, branching
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial


def leaders(spec: StudySpec, priors: Sequence[Trial]) -> list[dict[str, ParamValue]]:
    """For each branch, the parameters of the best prior in it; best first, no repeats.

    Best: feasible before infeasible, then the lowest mean rank over the objectives (each
    in its direction), then the earlier prior. Branches without a prior get nothing.
    """
    order = ranked(spec, priors)
    chosen: set[int] = set()
    for parameter in branching(spec.parameters):
        for value in parameter.values or []:
            best = next(
                (i for i in order if _is(priors[i].spec.parameters.get(parameter.name), value)),
                None,
            )
            if best is not None:
                chosen.add(best)
    out: list[dict[str, ParamValue]] = []
    for i in order:  # best first; equal configurations once
        if i in chosen and priors[i].spec.parameters not in out:
            out.append(dict(priors[i].spec.parameters))
    return out


def _is(a: ParamValue | None, b: ParamValue) -> bool:
    """Equal and of one type (a bool is no number)."""
    return a is not None and type(a) is type(b) and a == b


def ranked(spec: StudySpec, priors: Sequence[Trial]) -> list[int]:
    """Indices of `priors`, best first (as `leaders` orders them)."""
    n = len(priors)
    mean_rank = [0.0] * n
    for k, objective in enumerate(spec.objectives):
        sign = -1.0 if objective.direction == "maximize" else 1.0
        values = [sign * (t.status.values or [])[k] for t in priors]
        for position, i in enumerate(sorted(range(n), key=lambda i: values[i])):
            mean_rank[i] += position / len(spec.objectives)
    return sorted(range(n), key=lambda i: (priors[i].status.feasible is False, mean_rank[i], i))

"""Insights: what a study's records show, each with its evidence in numbers.

Kinds, most important first (the order of the list `insights` returns):

- importance: each objective's fANOVA importance per parameter (`importance`).
- edge: the best trials for an objective all sit at one end of a numeric range.
- never-on-front: a categorical value often tried, never on the front, and worse.
- cheaper-resource: a parameter that drives cost whose cheaper values lose nothing.
- pruning-savings: what Optuna's median pruner would have saved, replayed on the curves.
- no-effect: a parameter that neither fANOVA nor a comparison of groups finds an effect of.
- noise: the spread of each objective between runs of the same configuration.

The statistical checks see at most `importance.MAX_TRIALS` succeeded trials spread by
number; nothing lists a range's values. The same records give the same insights (fANOVA
is seeded, the rest is exact).
"""

from __future__ import annotations

from collections.abc import Sequence

from tradeoff.api.status import Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.ensembles import search_records
from tradeoff.engine.importance import Importance, param_importances, spread
from tradeoff.engine.insight_data import Data, pct
from tradeoff.engine.insight_runs import cheaper_resource, noise, pruning_savings
from tradeoff.engine.insight_space import edges, never_on_front, no_effect
from tradeoff.engine.pareto import completed, pareto_front

__all__ = ["IMPORTANCE_TOP", "insights", "insights_due", "milestone"]

IMPORTANCE_TOP = 10
"""Parameters named per objective in an importance insight (and exported as gauges)."""
ORDER = ("edge", "never-on-front", "cheaper-resource", "pruning-savings", "no-effect")


def insights(
    spec: StudySpec,
    records: Sequence[Trial],
    seed: int | None = None,
    importance: Importance | None = None,
) -> list[Insight]:
    """Every insight the records support, most important first.

    `seed` seeds fANOVA (default the study's seed, else 0); `importance` is
    `param_importances(spec, records, seed)` when the caller already has it.
    """
    records = search_records(records)  # an Ensemble trial has no parameters
    done = completed(records, feasible_only=False)
    data = Data.of(spec, spread(done), {t.metadata.name for t in pareto_front(spec, records)})
    found = importance or param_importances(spec, records, seed)
    shares = found.by_objective.items()
    out = [i for name, s in shares if (i := _importance(name, s, found.trials)) is not None]
    noisy, sds = noise(records, spec.objective_names)
    data.noise_sd.update(sds)
    scored = edges(data) + never_on_front(data) + cheaper_resource(data)
    scored += pruning_savings(data) + no_effect(data, found.by_objective)
    scored.sort(key=lambda s: (ORDER.index(s[1].kind), -s[0], s[1].subject, s[1].objective or ""))
    return [*out, *(i for _, i in scored), *noisy]


def _importance(objective: str, shares: dict[str, float], trials: int) -> Insight | None:
    if not shares:
        return None
    top = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))[:IMPORTANCE_TOP]
    named = ", ".join(f"{p} {pct(v)}" for p, v in top)
    return Insight(
        kind="importance",
        subject=objective,
        objective=objective,
        message=f"{objective}: {named} (fANOVA over {trials} trials)",
        evidence={p: round(v, 4) for p, v in top},
    )


MILESTONE_FIRST = 5
"""Insights are first computed once this many trials finished (importance's minimum)."""


def milestone(finished: int) -> int:
    """The last milestone reached with `finished` trials: 5, 10, then every 10 up to 100,
    every 100 up to 1,000, every 1,000 after; 0 before the first. A study of 10,000 trials
    passes 29 of them: insights (about a second each) are recomputed rarely."""
    if finished < MILESTONE_FIRST:
        return 0
    if finished < 10:
        return MILESTONE_FIRST
    step = 10 if finished < 100 else 100 if finished < 1000 else 1000
    return finished // step * step


def insights_due(computed_from: int | None, finished: int, ended: bool) -> bool:
    """Whether to compute insights again: a new milestone was reached since they were
    computed from `computed_from` finished trials, or the study ended since."""
    if finished == 0:
        return False
    if computed_from is None:
        return ended or milestone(finished) > 0
    if ended:
        return computed_from != finished
    return milestone(finished) > milestone(computed_from)

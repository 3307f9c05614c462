"""A study's summary: counts, totals, front, hypervolume and recommendation, in one pass
over the records (`summarize`), or from parts kept elsewhere (`summary_of`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Literal

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.status import (
    PARETO_FRONT_CAP,
    EnsembleState,
    FrontPoint,
    Recommendation,
    Totals,
    TrialCounts,
)
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.lifecycle import CANCELLED
from tradeoff.engine.pareto import (
    cap_front,
    completed,
    hypervolume_of,
    losses_of,
    nondominated_mask,
)
from tradeoff.engine.selection import recommend


@dataclass(frozen=True)
class Summary:
    """What a study's status shows: counts, front, recommendation, hypervolume, totals."""

    counts: TrialCounts
    front: list[FrontPoint]
    front_size: int
    recommended: Recommendation | None
    hypervolume: float | None
    totals: Totals
    best: dict[str, float]
    ensemble: EnsembleState | None = None


def summarize(spec: StudySpec, records: Sequence[Trial], priors: Sequence[Trial] = ()) -> Summary:
    """The summary of `records`; `priors` (prior trials) join the front, nothing else."""
    t = tally_records(records)
    done, rows = t.done, t.values
    if t.numbers != sorted(t.numbers):  # timsort checks a sorted list in one pass
        order = sorted(range(len(done)), key=t.numbers.__getitem__)
        done, rows = [done[i] for i in order], [rows[i] for i in order]
    prior = completed(priors)
    done = prior + done
    front: list[Trial] = []
    hypervolume = None
    if done:
        loss = losses_of(spec, [p.status.values or [] for p in prior] + rows)
        mask = nondominated_mask(loss)
        front = [t for t, keep in zip(done, mask, strict=True) if keep]
        hypervolume = hypervolume_of(loss, loss[mask])
    return summary_of(spec, t.counts, t.totals, front, hypervolume, t.ensemble)


def summary_of(
    spec: StudySpec,
    trial_counts: TrialCounts,
    totals: Totals,
    front: list[Trial],
    hypervolume: float | None,
    ensemble: Trial | None,
) -> Summary:
    """The summary from its parts: `front` in the order of the trials considered (prior
    trials first, then by number), `ensemble` the study's first Ensemble trial."""
    names = spec.objective_names
    pick = recommend(spec, front)

    def values(t: Trial) -> dict[str, float]:
        return dict(zip(names, t.status.values or [], strict=True))

    best: dict[str, float] = {}
    for i, o in enumerate(spec.objectives):
        column = [(t.status.values or [])[i] for t in front]
        if column:
            best[o.name] = max(column) if o.direction == "maximize" else min(column)
    return Summary(
        counts=trial_counts,
        front=[
            FrontPoint(trial=t.metadata.name, kind=_kind(t), values=values(t))
            for t in cap_front(front, PARETO_FRONT_CAP)
        ],
        front_size=len(front),
        recommended=None
        if pick is None
        else Recommendation(
            trial=pick.metadata.name,
            kind=_kind(pick),
            policy=spec.selection.policy,
            parameters=dict(pick.spec.parameters),
            members=_members(pick),
            values=values(pick),
        ),
        hypervolume=hypervolume,
        totals=totals,
        best=best,
        ensemble=None
        if ensemble is None
        else EnsembleState(
            trial=ensemble.metadata.name, state=ensemble.status.state, reason=ensemble.status.reason
        ),
    )


def _kind(t: Trial) -> Literal["Ensemble"] | None:
    return "Ensemble" if t.spec.kind == "Ensemble" else None


def _members(t: Trial) -> dict[str, float] | None:
    ensemble = t.status.ensemble
    return None if ensemble is None else {m.trial: m.weight for m in ensemble.members}


@dataclass
class _Tallied:
    """What one pass over the records collects (`tally_records`)."""

    counts: TrialCounts
    totals: Totals
    ensemble: Trial | None
    """The first Ensemble trial."""
    done: list[Trial]
    """Feasible succeeded trials with values (`completed`), Ensemble ones too."""
    numbers: list[int]
    values: list[list[float]]
    """Of `done`, in the same order."""


def tally_records(records: Sequence[Trial]) -> _Tallied:
    """Counts and totals of the search's records, its first Ensemble trial and the
    feasible succeeded trials with values, in one pass (a summary at 10,000 records is
    one loop). An Ensemble trial is no part of the counts or totals (its members are),
    but may be done."""
    by_state = dict.fromkeys(("Pending", "Running", "Succeeded", "Failed", "Pruned"), 0)
    cancelled = 0
    spent: list[TrialEconomics] = []
    done: list[Trial] = []
    numbers: list[int] = []
    rows: list[list[float]] = []
    ensemble = None
    for r in records:
        s = r.status
        state = s.state
        spec = r.spec
        if spec.kind == "Ensemble":  # on the front, but neither counted nor totalled
            if ensemble is None:
                ensemble = r
        elif state == "Pending" and s.reason == CANCELLED:  # `waits_for_resume`, inlined
            cancelled += 1
        else:
            by_state[state] += 1
        if state == "Succeeded" and (values := s.values) is not None and s.feasible is not False:
            done.append(r)
            numbers.append(spec.number)
            rows.append(values)
        if (e := s.economics) is not None and spec.kind != "Ensemble":
            spent.append(e)
    trial_counts = TrialCounts(
        created=sum(by_state.values()) + cancelled,
        cancelled=cancelled,
        pending=by_state["Pending"],
        running=by_state["Running"],
        succeeded=by_state["Succeeded"],
        failed=by_state["Failed"],
        pruned=by_state["Pruned"],
    )
    costs, carbon, energy = zip(*map(_ECONOMICS, spent), strict=True) if spent else ((), (), ())
    totals = totals_of(costs, carbon, energy)
    return _Tallied(trial_counts, totals, ensemble, done, numbers, rows)


_ECONOMICS = attrgetter("cost_usd", "carbon_grams", "energy_kwh")


def totals_of(costs: Sequence[float], carbon: Sequence[float], energy: Sequence[float]) -> Totals:
    """Totals of the search's economics (`exact_total` each)."""
    return Totals(
        cost_usd=exact_total(costs),
        carbon_grams=exact_total(carbon),
        energy_kwh=exact_total(energy),
    )


def exact_total(values: Sequence[float]) -> float:
    """The sum of `values` correctly rounded (`math.fsum`: independent of the order, so a
    tally kept as records change gives what a fresh one does); inf past the float range,
    nan where infinities of both signs meet."""
    try:
        return math.fsum(values)
    except OverflowError:
        return math.copysign(math.inf, sum(values))
    except ValueError:
        return math.nan

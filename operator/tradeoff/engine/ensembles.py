"""The Ensemble trial: when it is due, what it selects from, and what it measures.

One rule for both adapters. A study with `spec.ensemble` gets one Ensemble trial, named
`<study>-ensemble` (a restart finds it and never makes a second), once its search has
ended well (budget spent, space exhausted, goal reached, timeout with a success). Its
candidates are fixed when it is created (the front, or the N best by the first
objective); its selection runs over the held-out predictions they saved
(`ensemble_selection`: `predictions.csv` parsed from bytes, the adapters read the files).
This module says when it is due and what its status reads, and reads an ensemble pod's
report back. Its metrics: accuracy, balanced_accuracy and (with probabilities) log_loss
measured on the mixed predictions; every other metric its members all reported, and
their economics, summed over the distinct members (an ensemble runs, stores and paid for
each of them).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tradeoff.api.ensemble import EnsembleRequest
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import (
    STUDY_LABEL,
    TRIAL_LABEL,
    Trial,
    TrialMeta,
    TrialSpec,
    TrialStatus,
    ensemble_name,
)
from tradeoff.economics import add_attempt
from tradeoff.engine.ensemble_selection import Selected
from tradeoff.engine.lifecycle import CANCELLED
from tradeoff.engine.outcome import evaluate, violation_lines
from tradeoff.engine.pareto import pareto_front
from tradeoff.engine.progress import StopDecision

__all__ = [
    "as_metrics",
    "candidates",
    "due",
    "ensemble_name",
    "ensemble_of",
    "failed",
    "finish",
    "from_metrics",
    "new_record",
    "search_records",
]


def search_records(records: Sequence[Trial]) -> list[Trial]:
    """The records the sampler proposed (budget, failure and insight rules count these)."""
    return [r for r in records if not r.is_ensemble]


def ensemble_of(records: Sequence[Trial]) -> Trial | None:
    return next((r for r in records if r.is_ensemble), None)


def candidates(spec: StudySpec, records: Sequence[Trial], source: str) -> list[Trial]:
    """The search trials the selection draws from (`front` or `top:N`), best first by the
    first objective (ties by number)."""
    search = search_records(records)
    if source == "front":
        done = pareto_front(spec, search)
    else:
        done = [r for r in search if r.status.state == "Succeeded" and r.status.values]
    sign = -1.0 if spec.objectives[0].direction == "maximize" else 1.0
    done = sorted(done, key=lambda r: (sign * (r.status.values or [0.0])[0], r.number))
    return done if source == "front" else done[: int(source[4:])]


def new_record(
    study: str, records: Sequence[Trial], request: EnsembleRequest, namespace: str | None = None
) -> Trial:
    """A Pending Ensemble trial numbered after every record (numbers stay unique)."""
    name = ensemble_name(study)
    number = max((r.number for r in records), default=-1) + 1
    return Trial(
        metadata=TrialMeta(
            name=name, namespace=namespace, labels={STUDY_LABEL: study, TRIAL_LABEL: name}
        ),
        spec=TrialSpec(study=study, number=number, parameters={}, kind="Ensemble",
                       ensemble=request),
    )  # fmt: skip


def due(
    spec: StudySpec,
    study: str,
    records: Sequence[Trial],
    decision: StopDecision | None,
    namespace: str | None = None,
) -> Trial | None:
    """The Ensemble trial to create now, if any: the study has `spec.ensemble`, its search
    ended with a success and no search trial still runs (a stop rule cancels them first),
    it has none yet, and it has candidates."""
    if spec.ensemble is None or decision is None or decision.state != "Succeeded":
        return None
    if ensemble_of(records) is not None:
        return None
    if any(r.state == "Running" or (r.state == "Pending" and r.status.reason != CANCELLED)
           for r in records):  # fmt: skip
        return None
    chosen = candidates(spec, records, spec.ensemble.source)
    if not chosen:
        return None
    request = EnsembleRequest(
        candidates=[t.metadata.name for t in chosen],
        size=spec.ensemble.size,
        criterion=spec.ensemble.criterion,
    )
    return new_record(study, records, request, namespace)


def finish(
    spec: StudySpec, status: TrialStatus, members: Sequence[Trial], selected: Selected
) -> TrialStatus:
    """The finished Ensemble trial's status: measured metrics, its members' other metrics
    and economics summed, objective values and feasibility as for any trial."""  # fmt: skip
    metrics = dict(selected.metrics)
    shared = set.intersection(*(set(m.status.metrics) for m in members)) if members else set()
    for name in sorted(shared - set(metrics)):
        total = math.fsum(m.status.metrics[name] for m in members)
        if math.isfinite(total):
            metrics[name] = total
    economics = None
    for m in members:
        if m.status.economics is not None:
            economics = add_attempt(economics, m.status.economics)
    judged = evaluate(spec, metrics, economics)
    out = status.model_copy(deep=True)
    out.metrics = metrics
    out.economics = economics
    out.ensemble = selected.result()
    out.values = judged.values
    out.feasible = judged.feasible if judged.values is not None else None
    out.violations = judged.violations
    if judged.values is None:
        out.state, out.reason, out.message = "Failed", judged.failure_reason, judged.failure_message
    elif not judged.feasible:
        lines = "; ".join(violation_lines(spec, metrics, economics))
        out.state, out.reason, out.message = "Succeeded", "Infeasible", f"infeasible: {lines}"
    else:
        out.state, out.reason, out.message = "Succeeded", "Ensembled", _line(selected)
    return out


WEIGHT = "weight."
"""Metric prefix of a member's weight in an ensemble pod's output (`weight.<trial>`)."""


def as_metrics(selected: Selected) -> dict[str, float]:
    """What an ensemble pod reports (the trial contract carries numbers only): the
    measured metrics, `weight.<trial>` per member, rows, whether scores were
    probabilities, and the cross-fitted pair."""
    ensemble, single = selected.cross_fitted
    return {
        **selected.metrics,
        **{f"{WEIGHT}{t}": w for t, w in selected.members.items()},
        "ensemble.rows": float(selected.rows),
        "ensemble.probabilities": 1.0 if selected.scores == "probabilities" else 0.0,
        "ensemble.cross_fitted": ensemble,
        "ensemble.best_single": single,
    }


def from_metrics(request: EnsembleRequest, metrics: dict[str, float]) -> Selected | str:
    """An ensemble pod's report read back (`as_metrics`); members must be candidates."""
    members = {k[len(WEIGHT) :]: v for k, v in metrics.items() if k.startswith(WEIGHT)}
    unknown = sorted(set(members) - set(request.candidates))
    if unknown:
        return f"the ensemble pod named members that are no candidates: {', '.join(unknown[:3])}"
    if not members or not all(0 < w <= 1 for w in members.values()):
        return "the ensemble pod reported no members with weights in (0, 1]"
    needed = ("accuracy", "ensemble.rows", "ensemble.cross_fitted", "ensemble.best_single")
    missing = [n for n in needed if n not in metrics]
    if missing:
        return f"the ensemble pod did not report {', '.join(missing)}"
    with_proba = metrics.get("ensemble.probabilities") == 1.0
    measured = ("accuracy", "balanced_accuracy") + (("log_loss",) if with_proba else ())
    return Selected(
        members=members,
        metrics={n: metrics[n] for n in measured if n in metrics},
        rows=int(metrics["ensemble.rows"]),
        scores="probabilities" if with_proba else "votes",
        cross_fitted=(metrics["ensemble.cross_fitted"], metrics["ensemble.best_single"]),
    )


def failed(status: TrialStatus, why: str) -> TrialStatus:
    """The Ensemble trial's status when no candidate's predictions were usable."""
    out = status.model_copy(deep=True)
    out.state, out.reason, out.message = "Failed", "NoUsablePredictions", why[:1000]
    return out


def _line(selected: Selected) -> str:
    ensemble, single = selected.cross_fitted
    return (
        f"{len(selected.members)} member(s) over {selected.rows} held-out rows;"
        f" cross-fitted accuracy {ensemble:.4f} against {single:.4f} for the best single trial"
    )

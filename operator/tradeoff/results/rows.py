"""One row per trial: parameters, metrics, objectives, economics, state and reason.

`trial_rows` gives nested rows (JSON); `flat_rows` the same with dotted column names
(``param.C``, ``metric.accuracy``, ``objective.cost``, ``economics.costUSD``) for CSV.
"""

from __future__ import annotations

from typing import Any

from tradeoff.api.economics import TrialEconomics
from tradeoff.results.source import StudyView

__all__ = ["ECONOMICS_FIELDS", "flat_rows", "trial_rows"]

ECONOMICS_FIELDS = tuple(field.alias or name for name, field in TrialEconomics.model_fields.items())
"""Economics of all the trial's attempts, and what they were computed from (names as on
the Trial's status: ``costUSD``, ``carbonGrams``, ``energyKWh``, ``durationSeconds``...)."""


def trial_rows(view: StudyView) -> list[dict[str, Any]]:
    """Every trial, by number; ``front``/``recommended`` as the engine decides them."""
    summary = view.summary
    names = view.spec.objective_names
    front = view.front_names
    pick = summary.recommended.trial if summary.recommended else None
    rows = []
    for record in view.records:
        s = record.status
        economics = (
            s.economics.model_dump(mode="json", by_alias=True, exclude_none=True)
            if s.economics
            else {}
        )
        rows.append(
            {
                "trial": record.metadata.name,
                "number": record.number,
                "state": s.state,
                "reason": s.reason or "",
                "message": s.message or "",
                "feasible": s.feasible,
                "front": record.metadata.name in front,
                "recommended": record.metadata.name == pick,
                "attempts": s.attempts,
                "parameters": dict(record.spec.parameters),
                "metrics": dict(s.metrics),
                "objectives": dict(zip(names, s.values, strict=True)) if s.values else {},
                "economics": {k: economics[k] for k in ECONOMICS_FIELDS if k in economics},
                "violations": dict(s.violations),
                "startTime": s.start_time.isoformat() if s.start_time else None,
                "completionTime": s.completion_time.isoformat() if s.completion_time else None,
            }
        )
    return rows


def flat_rows(view: StudyView) -> tuple[list[str], list[dict[str, Any]]]:
    """(columns, rows) with one column per parameter, metric, objective and economics field."""
    rows = trial_rows(view)
    params: dict[str, None] = dict.fromkeys(p.name for p in view.spec.parameters)
    metrics: dict[str, None] = {}
    for row in rows:
        params.update(dict.fromkeys(row["parameters"]))
        metrics.update(dict.fromkeys(row["metrics"]))
    head = ["trial", "number", "state", "reason", "message", "feasible", "front", "recommended"]
    columns = [
        *head,
        "attempts",
        *(f"param.{p}" for p in params),
        *(f"objective.{n}" for n in view.spec.objective_names),
        *(f"metric.{m}" for m in metrics),
        *(f"economics.{e}" for e in ECONOMICS_FIELDS),
        "startTime",
        "completionTime",
    ]
    flat = []
    for row in rows:
        out = {k: row[k] for k in (*head, "attempts", "startTime", "completionTime")}
        for group, prefix in (
            ("parameters", "param"),
            ("objectives", "objective"),
            ("metrics", "metric"),
            ("economics", "economics"),
        ):
            out.update({f"{prefix}.{k}": v for k, v in row[group].items()})
        flat.append(out)
    return columns, flat

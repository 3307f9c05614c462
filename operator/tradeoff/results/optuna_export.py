"""A study's trials written as an Optuna study, for optuna-dashboard and `optuna.load_study`.

- Directions and metric names are the study's objectives, in order.
- Parameters carry the distributions of the search space (`tradeoff.engine.space`);
  conditional parameters appear only in the trials where they were active.
- States as the engine maps them (`tradeoff.engine.history.optuna_state`): Succeeded ->
  COMPLETE with the objective values, Failed -> FAIL, Pruned -> PRUNED. Pending and
  Running trials are not written (they have no outcome yet; export again when the study
  has ended). Infeasible trials are COMPLETE with Optuna's ``constraints`` system
  attribute (> 0 where violated), so Optuna and its dashboard tell them apart.
- Intermediate values are those of the pruning metric, by step.
- User attributes: ``trial`` (the Trial's name), ``state``, ``reason``, ``message``,
  ``attempts``, ``feasible``, ``metrics`` (every final metric), ``economics``
  (``durationSeconds``, ``cpuSeconds``, ``energyKWh``, ``carbonGrams``, ``costUSD``,
  ``source``) and ``violations``; the study's user attributes name the Tradeoff study,
  its algorithm, selection policy and recommended trial.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import optuna
from optuna.exceptions import DuplicatedStudyError
from optuna.trial import FrozenTrial, TrialState

from tradeoff.api.trial import Trial
from tradeoff.engine import all_metrics
from tradeoff.engine.history import frozen_trial, optuna_state
from tradeoff.engine.outcome import constraint_values
from tradeoff.engine.space import SearchSpace
from tradeoff.results.source import StudyView

__all__ = ["ExportError", "to_frozen_trial", "write_optuna_study"]


class ExportError(Exception):
    """The Optuna study cannot be written; one line naming the storage and the fix."""


def to_frozen_trial(view: StudyView, space: SearchSpace, record: Trial) -> FrozenTrial:
    """One finished record as an Optuna trial."""
    s = record.status
    state = optuna_state(record)
    constraints = None
    if view.spec.constraints and state == TrialState.COMPLETE:
        constraints = constraint_values(view.spec, all_metrics(s.metrics, s.economics))
    trial = frozen_trial(
        record.number,
        state,
        params=dict(record.spec.parameters),
        space=space,
        values=s.values,
        intermediate={step.step: step.value for step in s.intermediate},
        constraints=constraints,
    )
    start = s.start_time or s.completion_time or view_started(view)
    trial.datetime_start = start
    trial.datetime_complete = s.completion_time or start
    economics = s.economics.model_dump(mode="json", by_alias=True) if s.economics else {}
    attrs: dict[str, Any] = {
        "trial": record.metadata.name,
        "state": s.state,
        "reason": s.reason or "",
        "message": s.message or "",
        "attempts": s.attempts,
        "feasible": s.feasible,
        "metrics": dict(s.metrics),
        "economics": {k: v for k, v in economics.items() if v is not None},
        "violations": dict(s.violations),
    }
    trial.user_attrs = attrs
    return trial


def view_started(view: StudyView) -> datetime:
    """A start time for records that have none (the earliest one recorded, or now)."""
    times = [r.status.start_time for r in view.records if r.status.start_time]
    return min(times) if times else datetime.now().astimezone()


def write_optuna_study(
    view: StudyView, storage: str, name: str | None = None, *, overwrite: bool = False
) -> str:
    """Write ``view`` to ``storage`` as the Optuna study ``name``; returns what was done."""
    study_name = name or view.name
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        rdb = optuna.storages.RDBStorage(storage)
    except Exception as exc:  # SQLAlchemy raises many kinds for a bad URL
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExportError(
            f"--optuna-storage {storage}: cannot open ({first}); give a database URL such as"
            " sqlite:///study.db"
        ) from None
    directions = [o.direction for o in view.spec.objectives]
    try:
        study = optuna.create_study(storage=rdb, study_name=study_name, directions=directions)
    except DuplicatedStudyError:
        if not overwrite:
            raise ExportError(
                f"--optuna-storage {storage}: already holds a study named {study_name!r};"
                " pass --overwrite to replace it, or --optuna-study NAME for another name"
            ) from None
        optuna.delete_study(study_name=study_name, storage=rdb)
        study = optuna.create_study(storage=rdb, study_name=study_name, directions=directions)
    study.set_metric_names(view.spec.objective_names)
    summary = view.summary
    study.set_user_attr("tradeoff.study", view.name)
    study.set_user_attr("tradeoff.source", view.where)
    study.set_user_attr("tradeoff.state", view.state)
    study.set_user_attr("tradeoff.algorithm", view.engine.algorithm)
    study.set_user_attr("tradeoff.selection", view.spec.selection.policy)
    if summary.recommended is not None:
        study.set_user_attr("tradeoff.recommended", summary.recommended.trial)
    space = SearchSpace(view.spec.parameters)
    finished = [r for r in view.records if r.finished]
    study.add_trials([to_frozen_trial(view, space, r) for r in finished])
    skipped = len(view.records) - len(finished)
    note = f" ({skipped} unfinished trials left out)" if skipped else ""
    return f"{len(finished)} trials written to Optuna study {study_name!r} in {storage}{note}"

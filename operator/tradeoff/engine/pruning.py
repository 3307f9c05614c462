"""Early stopping: should a running trial stop, judged from intermediate values.

Optuna's pruners judge single-objective studies, so the decision is taken in a study of
the pruning metric alone (the first objective unless `earlyStopping.metric` says
otherwise). Pruner state that Optuna keeps on trials (successive-halving rungs) comes
back in the decision and is stored on the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.history import new_study, to_frozen
from tradeoff.engine.samplers import make_pruner
from tradeoff.engine.space import SearchSpace


@dataclass(frozen=True)
class PruneDecision:
    prune: bool
    pruning_state: dict[str, Any] = field(default_factory=dict)


def should_prune(
    spec: StudySpec, space: SearchSpace, records: Sequence[Trial], number: int
) -> PruneDecision:
    """Whether running trial `number` should stop now."""
    pruner = make_pruner(spec)
    target = next((r for r in records if r.number == number), None)
    if pruner is None or target is None or not target.status.intermediate:
        return PruneDecision(False, dict(target.status.pruning_state) if target else {})
    metric = spec.pruning_metric
    direction = next(o.direction for o in spec.objectives if o.name == metric)
    study = new_study([direction])
    frozen: list[FrozenTrial] = []
    for record in sorted(records, key=lambda r: r.number):
        while len(frozen) < record.number:
            frozen.append(to_frozen(_empty(record), space, None))
        value = record.status.metrics.get(metric)
        values = [value] if value is not None and record.state == "Succeeded" else None
        if record.number == number:
            record = record.model_copy(
                update={"status": record.status.model_copy(update={"state": "Running"})}
            )
        frozen.append(to_frozen(record, space, None, values=values, pruning=True))
    study.add_trials(frozen)
    trial = study._storage.get_trial(number)
    prune = bool(pruner.prune(study, trial))
    after = study._storage.get_trial(number).system_attrs
    before = set(target.spec.sampler_state.get("trial", {}))
    state = {k: v for k, v in after.items() if k not in before}
    return PruneDecision(prune, state)


def _empty(like: Trial) -> Trial:
    placeholder = like.model_copy(deep=True)
    placeholder.status.state = "Failed"
    placeholder.status.intermediate = []
    placeholder.spec.parameters = {}
    return placeholder

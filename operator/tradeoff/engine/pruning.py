"""Early stopping: should a running trial stop, judged from intermediate values.

Optuna's pruners judge single-objective studies, so the decision is taken in a study of
the pruning metric alone (the first objective unless `earlyStopping.metric` says
otherwise), kept in step with the records like the engine's own study. Pruner state that
Optuna keeps on trials (successive-halving rungs) comes back in the decision, signed, and
is stored on the record; state on a record that does not verify is not used (Optuna's
pruners compare it as numbers, and a record is data others may write). The kept study
itself never holds what the pruner wrote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.history import Mirror, frozen_trial, optuna_state
from tradeoff.engine.records import find
from tradeoff.engine.samplers import make_pruner
from tradeoff.engine.space import SearchSpace

StateOf = Callable[[Trial], dict[str, Any]]
Sign = Callable[[int, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class PruneDecision:
    prune: bool
    pruning_state: dict[str, Any] = field(default_factory=dict)


def mirror(spec: StudySpec, space: SearchSpace, state_of: StateOf, pruning_of: StateOf) -> Mirror:
    """The kept study of the pruning metric; `state_of` and `pruning_of` give a record's
    verified sampler and pruning state."""
    metric = spec.pruning_metric
    direction = next(o.direction for o in spec.objectives if o.name == metric)

    def convert(record: Trial) -> FrozenTrial:
        value = record.status.metrics.get(metric)
        attrs = {**state_of(record).get("trial", {}), **pruning_of(record)}
        return frozen_trial(
            record.number,
            optuna_state(record),
            params=record.spec.parameters,
            space=space,
            values=[value] if value is not None and record.state == "Succeeded" else None,
            system_attrs=attrs,
            intermediate={s.step: s.value for s in record.status.intermediate},
        )

    def fingerprints(records: Sequence[Trial]) -> list[tuple[Any, ...]]:
        return [
            (
                r.spec.number,
                (s := r.status).state,
                s.metrics.get(metric),
                len(s.intermediate),
                (s.intermediate[-1].step, s.intermediate[-1].value) if s.intermediate else None,
                json.dumps(s.pruning_state, sort_keys=True) if s.pruning_state else "",
            )
            for r in records
        ]

    return Mirror([direction], convert, fingerprints)


def should_prune(
    spec: StudySpec,
    kept: Mirror,
    records: Sequence[Trial],
    number: int,
    state_of: StateOf,
    sign: Sign,
) -> PruneDecision:
    """Whether running trial `number` should stop now (its new pruning state signed by
    `sign`)."""
    pruner = make_pruner(spec)
    target = find(records, number)
    if pruner is None or target is None or target.finished or not target.status.intermediate:
        return PruneDecision(False, dict(target.status.pruning_state) if target else {})
    kept.sync(records)
    storage = kept.storage
    try:
        prune = bool(pruner.prune(kept.study, storage.get_trial(number)))
        after = storage.get_trial(number).system_attrs
    finally:
        kept.replace(target)
    before = set(state_of(target).get("trial", {}))
    return PruneDecision(prune, sign(number, {k: v for k, v in after.items() if k not in before}))

"""What a trial's intermediate value does to its record: kept as its last value, added
to its pruning series (capped), and judged by the engine's pruner."""

from __future__ import annotations

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import INTERMEDIATE_CAP, StepValue
from tradeoff.engine import Engine
from tradeoff.local.events import Intermediate
from tradeoff.local.run_records import RunRecords


def record_intermediate(
    event: Intermediate, records: RunRecords, spec: StudySpec, engine: Engine, *, may_prune: bool
) -> bool:
    """Keep the value on its (running, current-attempt) record; True: prune the trial.

    The record is put in the book only, and saved with its next state change."""
    record = records.by_name.get(event.trial)
    if record is None or record.state != "Running" or event.attempt != record.status.attempts:
        return False
    status = record.status
    status.last_intermediate[event.metric] = event.value
    if event.metric != spec.pruning_metric:
        return False
    status.intermediate = [*status.intermediate, StepValue(step=event.step, value=event.value)]
    del status.intermediate[:-INTERMEDIATE_CAP]
    records.book.put(record)
    if spec.early_stopping.algorithm == "none" or not may_prune:
        return False
    decision = engine.should_prune(records.book, record.number)
    status.pruning_state = decision.pruning_state
    records.book.put(record)
    return decision.prune

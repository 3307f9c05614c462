"""The operator's warm pass: `plan_study` on a study holding N finished trials.

The study is `operator_scale.py`'s (random search over one float, parallelism 50, one or
two objectives, the second the built-in cost); its records are shaped as that
benchmark's operator writes them (finished, with economics, sampler state signed with
the operator's key). Warm, as the operator runs: the same `Engines` across passes; between
two passes 40 running trials finish (each a new record object, as the operator's watch
store holds them) and the pass before created the trials that replace them. Insights are
left to another process, as the operator's are. Each pass's CPU time
(`time.process_time`) is taken, garbage collection included.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import MAX_TRIALS
from tradeoff.api.trial import Trial
from tradeoff.engine.core import Engine
from tradeoff.engine.records import RecordBook
from tradeoff.engine.validation import validate_study
from tradeoff.kube.engines import Engines
from tradeoff.kube.reconcile import plan_study

KEY = b"operator-benchmark-key"
NAME = "scale"
PARALLELISM = 50
FINISHED_PER_PASS = 40
T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def study_object(max_trials: int, objectives: int) -> dict[str, Any]:
    """`operator_scale.py`'s Study, as the API serves it."""
    from operator_scale import manifest

    obj = manifest(NAME, max_trials, PARALLELISM, objectives)
    obj["metadata"].update(uid="study-uid", generation=1, resourceVersion="1")
    return obj


def finish(record: Trial, objectives: int, number: int) -> Trial:
    """`record` ended as an instant trial ends: a new object (records never change)."""
    x = float(record.spec.parameters["x"])
    economics = TrialEconomics.model_validate(
        {
            "durationSeconds": 1.0,
            "energyKWh": 1e-6,
            "carbonGrams": 1e-3,
            "costUSD": 1e-6 * (1 + number % 7),
            "source": "estimated",
            "vcpu": 0.1,
            "memoryGiB": 0.0625,
            "gramsPerKWh": 400.0,
        }
    )
    values = [x] if objectives == 1 else [x, economics.cost_usd]
    status = record.status.model_copy(
        update={
            "state": "Succeeded",
            "pod_name": f"{record.metadata.name}-a1",
            "start_time": T0,
            "completion_time": T0,
            "attempts": 1,
            "metrics": {"accuracy": x},
            "economics": economics,
            "values": values,
            "feasible": True,
            "summary": " ".join(f"{v:.4g}" for v in values),
            "reason": "Succeeded",
        }
    )
    return record.model_copy(update={"status": status})


def elsewhere(spec: Any, records: Any, finished: int) -> None:
    """The insights, computed in another process as the operator's are (`insight_jobs`):
    not in the pass (which still decides whether they are due)."""
    return None


class WarmPasses:
    """A study driven pass by pass as the operator drives it, without the API."""

    def __init__(self, finished: int, objectives: int) -> None:
        self.objectives = objectives
        self.obj = study_object(MAX_TRIALS, objectives)  # the budget never stops a pass
        self.engines = Engines(KEY)
        self.records: list[Trial] = []
        self.now = T0
        if finished:
            self.records = history(self.obj, finished, objectives)

    def plan(self) -> Any:
        """One pass; its new trials join the records (Pending, as created)."""
        self.now += dt.timedelta(seconds=1)
        plan = plan_study(
            self.obj,
            [],
            self.now,
            engines=self.engines,
            owned=(self.records, []),
            insight_source=elsewhere,
        )
        self.obj = {**self.obj, "status": plan.status.wire()}
        for body in plan.new_trials:
            self.records.append(Trial.model_validate(body))
        return plan

    def step(self) -> None:
        """Between passes: the oldest running trials finish (new objects)."""
        left = FINISHED_PER_PASS
        for i, r in enumerate(self.records):
            if left and not r.finished:
                self.records[i] = finish(r, self.objectives, r.number)
                left -= 1


def pass_cpu(finished: int, objectives: int, passes: int) -> dict[str, Any]:
    """CPU seconds of warm passes at `finished` records (median, mean, max), and the
    first pass's (a cold engine: a restarted operator's)."""
    warm = WarmPasses(finished, objectives)
    cold = _cpu(warm.plan)
    times = []
    for _ in range(passes):
        warm.step()
        times.append(_cpu(warm.plan))
    times.sort()
    return {
        "records": finished,
        "objectives": objectives,
        "passes": passes,
        "cold_pass": cold,
        "warm_pass_median": times[len(times) // 2],
        "warm_pass_mean": sum(times) / len(times),
        "warm_pass_max": times[-1],
    }


def history(obj: dict[str, Any], finished: int, objectives: int) -> list[Trial]:
    """`finished` finished records, proposed 50 at a time by an engine with the operator's
    key, as its passes would."""
    spec = validate_study(obj).spec
    engine = Engine(spec, spec.algorithm.name, study=NAME, key=KEY)
    book = RecordBook()
    while len(book) < finished:
        for s in engine.ask(book, min(PARALLELISM, finished - len(book))):
            record = Trial.new(NAME, s.number, s.parameters, s.sampler_state, "default")
            book.put(finish(record, objectives, s.number))
    return list(book)


def _cpu(fn: Callable[[], object]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started

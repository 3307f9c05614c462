"""Insights computed in a child process: the same insights as in the pass, one child per
study at a time, a failed child retried only after a while, and the operator's own
imports free of SciPy and scikit-learn."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from tests.unit.test_kube_status import study_obj, trial_obj
from tradeoff.api.status import Insight, StudyStatus
from tradeoff.api.study import Study
from tradeoff.engine.insight_status import refresh_insights
from tradeoff.engine.insights import insights
from tradeoff.kube import insight_jobs
from tradeoff.kube.insight_jobs import InsightJobs
from tradeoff.kube.reconcile import records_of


def test_a_child_computes_what_the_pass_would_and_a_pass_later_gets_it() -> None:
    spec = Study.model_validate(study_obj(max_trials=20)).spec
    records = records_of([trial_obj(i, "Succeeded", i / 10) for i in range(8)])
    ready = threading.Event()
    jobs = InsightJobs(lambda key: ready.set())
    get = jobs.source(("ns", "demo"))
    assert get(spec, records, 8) is None  # a child starts
    assert get(spec, records, 8) is None  # one child per study at a time
    assert ready.wait(60), "the child never finished"
    found = get(spec, records, 8)
    assert found is not None and found[0] == 8
    assert [i.wire() for i in found[1]] == [i.wire() for i in insights(spec, records)]
    assert found[1][0].message == "accuracy: x 100% (fANOVA over 8 trials)"


def test_a_failed_child_is_said_once_and_not_retried_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    spec = Study.model_validate(study_obj(max_trials=20)).spec
    records = records_of([trial_obj(i, "Succeeded", i / 10) for i in range(5)])
    failing = [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]
    jobs = InsightJobs(lambda key: None, command=failing)
    get = jobs.source(("ns", "demo"))
    assert get(spec, records, 5) is None
    for thread in threading.enumerate():
        if thread.name == "insights":
            thread.join(30)
    assert "insights not computed: the insight child exited 3: boom" in caplog.text
    assert get(spec, records, 5) is None and not any(
        t.name == "insights" for t in threading.enumerate()
    )  # no second child within RETRY_AFTER
    assert insight_jobs.RETRY_AFTER >= 10


PASS_WITH_INSIGHTS = """
import sys, threading
from datetime import UTC, datetime
from tests.unit.test_kube_status import study_obj, trial_obj
from tradeoff.kube import handlers, run  # the operator's modules
from tradeoff.kube.insight_jobs import InsightJobs
from tradeoff.engine.insight_status import refresh_insights
from tradeoff.kube.reconcile import plan_study
ready = threading.Event()
jobs = InsightJobs(lambda key: ready.set())
trials = [trial_obj(i, "Succeeded", i / 10) for i in range(8)]
source = jobs.source(("ns", "demo"))
first = plan_study(study_obj(max_trials=20), trials, datetime.now(UTC), insight_source=source)
assert ready.wait(60)
obj = study_obj(max_trials=20, status=first.status.wire())
later = plan_study(obj, trials, datetime.now(UTC), insight_source=source)
print(later.status.insights_from, [e.message for e in later.events if e.reason == "Insight"][:1])
print(sorted(m for m in ("scipy", "sklearn", "optuna.importance") if m in sys.modules))
"""


def test_a_pass_gets_its_insights_without_importing_scipy_or_scikit_learn() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PASS_WITH_INSIGHTS], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["8 ['accuracy: x 100% (fANOVA over 8 trials)']", "[]"]


def test_insights_computed_from_fewer_trials_than_the_ended_study_has_start_the_next() -> None:
    """The study ended while its child ran: the pass that records the stale insights
    starts the child for the final count (an ended Study gets no other pass)."""
    spec = Study.model_validate(study_obj(max_trials=20)).spec
    records = records_of([trial_obj(i, "Succeeded", i / 10) for i in range(8)])
    calls: list[int] = []

    def source(_: object, __: object, finished: int) -> tuple[int, list[Insight]] | None:
        calls.append(finished)
        return (5, []) if len(calls) == 1 else None

    old, status = StudyStatus(), StudyStatus()
    status.trials.succeeded = 8
    refresh_insights(old, status, spec, records, ended=True, source=source)
    assert status.insights_from == 5
    assert calls == [8, 8]  # the stale result recorded, and the next computation started
    calls.clear()
    old = status.model_copy(deep=True)
    old.insights_from = 8
    refresh_insights(old, status, spec, records, ended=True, source=source)
    assert calls == []  # up to date: nothing to start


def test_a_record_is_written_to_the_child_as_its_wire_form() -> None:
    import json
    import math

    from tradeoff.api.trial import Trial
    from tradeoff.engine.insight_status import record_json

    record = Trial.new("demo", 3, {"x": 0.25, "c": "a"}, {"seed": 1}, "ns")
    record.status.state = "Succeeded"
    record.status.values = [0.5, 1e-6]
    record.status.metrics = {"accuracy": 0.5, "loss": 2.0}
    assert json.loads(record_json(record)) == record.wire()
    assert record_json(record) != json.dumps(record.wire())  # pydantic's encoder wrote it
    record.status.metrics["loss"] = math.inf  # pydantic writes null: written by json
    assert record_json(record) == json.dumps(record.wire())

"""A local run's insights (`tradeoff.local.run_insights`): the operator's rule, computed in
the background, saved before announced, restart-safe."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.factories import make_spec
from tests.unit.test_insights import MODEL, TWO, X, Y, study
from tradeoff.api.status import INSIGHTS_CAP, Insight
from tradeoff.api.trial import Trial
from tradeoff.engine.insights import insights
from tradeoff.engine.records import RecordBook
from tradeoff.local.insight_worker import CHILD, InsightWorker
from tradeoff.local.run_insights import RunInsights
from tradeoff.local.status_file import STATUS_FILE, read_status
from tradeoff.observe import NullObserver

SPEC = make_spec(objectives=TWO, parameters=[X, Y, MODEL])


def _scores(params: dict[str, Any], rng: random.Random) -> tuple[float, float]:
    return params["x"] + rng.gauss(0, 0.02), 0.001 + (params["model"] == "a") * 0.01


RECORDS = study([X, Y, MODEL], _scores, n=30, seed=3)


class InsightsSeen(NullObserver):
    """A StudyObserver test double: remembers the insights it was given."""

    def __init__(self) -> None:
        self.given: list[tuple[str, str, list[Insight]]] = []

    def insights_updated(self, namespace: str, study: str, insights: Sequence[Insight]) -> None:
        self.given.append((namespace, study, list(insights)))


def in_process(records: Sequence[Trial]) -> list[Insight]:
    """The engine's insights computed in this process (a run's child computes the same:
    `test_the_worker_computes_what_the_engine_does`)."""
    return insights(SPEC, records)


Compute = Callable[[Sequence[Trial]], list[Insight]]


class Run:
    """One run's `RunInsights` on `workdir`, with what it said and warned."""

    def __init__(self, workdir: Path, compute: Compute = in_process) -> None:
        self.said: list[str] = []
        self.warned: list[str] = []
        self.observer = InsightsSeen()
        self.ready = threading.Event()
        self.insights = RunInsights(
            "demo",
            SPEC,
            workdir,
            self.observer,
            self.said.append,
            self.warned.append,
            self.wake,
            compute,
        )

    def wake(self) -> None:
        self.ready.set()

    def settle(self, records: list[Trial]) -> None:
        """A turn of the loop, then the turn after the background computation ends."""
        book = RecordBook(records)
        self.ready.clear()
        self.insights.refresh(book)
        assert self.ready.wait(60), "no computation ended"
        self.insights.refresh(book)


def test_milestones_are_computed_in_the_background_saved_given_and_announced(
    tmp_path: Path,
) -> None:
    calls: list[int] = []

    def counted(records: Sequence[Trial]) -> list[Insight]:
        calls.append(len(records))
        return in_process(records)

    run = Run(tmp_path, counted)
    run.insights.refresh(RecordBook(RECORDS[:4]))
    assert calls == [] and not (tmp_path / STATUS_FILE).exists()
    run.settle(RECORDS[:5])
    expected = insights(SPEC, RECORDS[:5])[:INSIGHTS_CAP]
    assert calls == [5] and expected
    assert run.said == [i.message for i in expected]
    assert run.observer.given == [("local", "demo", expected)]
    saved = json.loads((tmp_path / STATUS_FILE).read_text())
    assert saved == {"insights": [i.wire() for i in expected], "insightsFrom": 5}
    run.insights.refresh(RecordBook(RECORDS[:9]))  # no new milestone: nothing computed
    assert calls == [5]
    run.settle(RECORDS[:10])
    assert calls == [5, 10] and run.insights.status.insights_from == 10
    fresh = {i.key for i in run.insights.status.insights} - {i.key for i in expected}
    assert len(run.said) == len(expected) + len(fresh)


def test_a_milestone_passed_while_computing_starts_the_next_computation_at_once(
    tmp_path: Path,
) -> None:
    release = threading.Event()
    calls: list[int] = []

    def gated(records: Sequence[Trial]) -> list[Insight]:
        calls.append(len(records))
        assert release.wait(60)
        return in_process(records)

    run = Run(tmp_path, gated)
    turned = threading.Event()

    def wake_and_linger() -> None:  # the thread is still alive during the loop's turn
        run.wake()
        turned.wait(10)

    run.insights.wake = wake_and_linger
    run.insights.refresh(RecordBook(RECORDS[:5]))
    later = RecordBook(RECORDS[:12])  # milestone 10 passed while 5's are computed
    run.insights.refresh(later)
    release.set()
    assert run.ready.wait(60)
    run.ready.clear()
    run.insights.refresh(later)  # the turn the first computation's end woke
    turned.set()
    assert run.insights.status.insights_from == 5
    assert run.ready.wait(30)  # the next one started in that same turn, no event needed
    assert calls == [5, 12]
    run.insights.refresh(later)
    assert run.insights.status.insights_from == 12


def test_a_resumed_run_gives_the_saved_insights_and_announces_only_new_ones(
    tmp_path: Path,
) -> None:
    first = Run(tmp_path)
    first.settle(RECORDS[:5])
    again = Run(tmp_path)
    assert again.observer.given == [("local", "demo", first.insights.status.insights)]
    again.insights.finish(RecordBook(RECORDS[:5]), ended=True)  # computed from them all
    assert again.said == [] and again.insights.status == first.insights.status
    again.settle(RECORDS[:10])
    keys = {i.key for i in first.insights.status.insights}
    assert again.said == [i.message for i in again.insights.status.insights if i.key not in keys]


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(
    total=st.integers(min_value=5, max_value=30),
    killed_at=st.integers(min_value=0, max_value=30),
    computed=st.booleans(),
)
@example(total=12, killed_at=7, computed=True)  # resumed between two milestones
@example(total=20, killed_at=10, computed=True)  # resumed at a milestone it had computed
@example(total=9, killed_at=6, computed=False)  # killed while computing
def test_a_run_killed_anywhere_ends_as_an_uninterrupted_one_announcing_nothing_twice(
    tmp_path_factory: pytest.TempPathFactory, total: int, killed_at: int, computed: bool
) -> None:
    records = RECORDS[:total]
    killed_at = min(killed_at, total)
    workdir = tmp_path_factory.mktemp("killed")
    first = Run(workdir)
    if computed and killed_at >= 5:
        first.settle(records[:killed_at])  # killed after its insights were saved
    else:
        first.insights.refresh(RecordBook(records[:killed_at]))  # killed computing them
    resumed = Run(workdir)
    resumed.insights.finish(RecordBook(records), ended=True)
    whole = Run(tmp_path_factory.mktemp("whole"))
    whole.insights.finish(RecordBook(records), ended=True)
    assert resumed.insights.status == whole.insights.status
    assert resumed.insights.status.insights_from == total
    announced = first.said + resumed.said
    assert len(announced) == len(set(announced))
    by_message = {i.message: i.key for s in (first, resumed) for i in _saved(s)}
    keys = [by_message[m] for m in announced]
    assert len(keys) == len(set(keys))  # no insight announced twice, even reworded
    assert {i.key for i in whole.insights.status.insights} <= set(keys)


def _saved(run: Run) -> list[Insight]:
    return run.insights.status.insights


def test_an_unreadable_status_file_is_replaced_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / STATUS_FILE).write_text('{"insights": 3}')
    run = Run(tmp_path)
    assert len(run.warned) == 1
    assert run.warned[0].startswith(f"{tmp_path / STATUS_FILE}: not a valid status (status.")
    assert run.warned[0].endswith("the insights are computed afresh")
    run.settle(RECORDS[:5])
    assert read_status(tmp_path) == (run.insights.status, None)


def test_a_failed_computation_warns_once_and_waits_for_the_next_milestone(
    tmp_path: Path,
) -> None:
    calls: list[int] = []

    def fails_first(records: Sequence[Trial]) -> list[Insight]:
        calls.append(len(records))
        if len(calls) == 1:
            raise ValueError("singular matrix\nmore detail")
        return in_process(records)

    run = Run(tmp_path, fails_first)
    run.settle(RECORDS[:5])
    assert run.warned == ["insights not computed: singular matrix"] and run.said == []
    run.insights.refresh(RecordBook(RECORDS[:9]))  # the same milestone: not retried
    assert calls == [5] and run.warned == ["insights not computed: singular matrix"]
    run.settle(RECORDS[:10])
    assert calls == [5, 10] and run.insights.status.insights_from == 10 and run.said


def test_the_worker_computes_what_the_engine_does_in_one_child(tmp_path: Path) -> None:
    worker = InsightWorker(SPEC)
    try:
        assert worker.compute(RECORDS[:12]) == insights(SPEC, RECORDS[:12])
        child = worker._child
        assert worker.compute(RECORDS) == insights(SPEC, RECORDS)
        assert worker._child is child  # one child for the run: its imports are paid once
    finally:
        worker.close()
    assert child is not None and child.poll() is not None


def test_the_child_answers_a_bad_request_with_an_error_and_goes_on() -> None:
    spec = json.dumps(SPEC.wire())
    good = json.dumps([r.wire() for r in RECORDS[:5]])
    lines = f'{spec}\n[{{"kind": 1}}]\n{good}\n'
    done = subprocess.run(CHILD, input=lines, capture_output=True, text=True, timeout=120)
    bad, answer = (json.loads(line) for line in done.stdout.splitlines())
    assert done.returncode == 0 and set(bad) == {"error"} and "validation error" in bad["error"]
    assert answer == [i.wire() for i in insights(SPEC, RECORDS[:5])]


def test_a_worker_that_dies_is_named_and_replaced(tmp_path: Path) -> None:
    dies = [sys.executable, "-c", "import sys; sys.stderr.write('no numpy here\\n'); sys.exit(3)"]
    worker = InsightWorker(SPEC, dies)
    with pytest.raises(ValueError, match="the insight child exited 3: no numpy here"):
        worker.compute(RECORDS[:5])
    worker.command = list(CHILD)
    try:
        assert worker.compute(RECORDS[:5]) == insights(SPEC, RECORDS[:5])
    finally:
        worker.close()


def test_a_run_killed_leaves_no_worker(tmp_path: Path) -> None:
    """The child ends when its parent's pipe closes, as when `kill -9` ends the run."""
    code = (
        "import sys; from tests.unit.test_local_insights import RECORDS, SPEC;"
        " from tradeoff.local.insight_worker import InsightWorker;"
        " w = InsightWorker(SPEC); w.compute(RECORDS[:5]); print(w._child.pid, flush=True);"
        " import time; time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    end = time.monotonic() + 30
    while time.monotonic() < end and _alive(pid):
        time.sleep(0.1)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited

"""A local run's insights (`tradeoff.local.run_insights`): the operator's rule, computed in
the background, saved before announced, restart-safe."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.factories import make_spec
from tests.unit.test_insights import MODEL, TWO, X, Y, study
from tradeoff.api.status import INSIGHTS_CAP, Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.insights import insights
from tradeoff.engine.records import RecordBook
from tradeoff.local import run_insights
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


class Run:
    """One run's `RunInsights` on `workdir`, with what it said and warned."""

    def __init__(self, workdir: Path, spec: StudySpec = SPEC) -> None:
        self.said: list[str] = []
        self.warned: list[str] = []
        self.observer = InsightsSeen()
        self.ready = threading.Event()
        self.insights = RunInsights(
            "demo", spec, workdir, self.observer, self.said.append, self.warned.append, self.wake
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


def _calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Spy on the engine's `insights` as run_insights calls it: the record counts given."""
    calls: list[int] = []

    def spy(spec: StudySpec, records: Sequence[Trial]) -> list[Insight]:
        calls.append(len(records))
        return insights(spec, records)

    monkeypatch.setattr(run_insights, "insights", spy)
    return calls


def test_milestones_are_computed_in_the_background_saved_given_and_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _calls(monkeypatch)
    run = Run(tmp_path)
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


def test_a_resumed_run_gives_the_saved_insights_and_announces_only_new_ones(
    tmp_path: Path,
) -> None:
    first = Run(tmp_path)
    first.settle(RECORDS[:5])
    again = Run(tmp_path)
    again.insights.begin()
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fails_first(spec: StudySpec, records: Sequence[Trial]) -> list[Insight]:
        calls.append(len(records))
        if len(calls) == 1:
            raise ValueError("singular matrix\nmore detail")
        return insights(spec, records)

    monkeypatch.setattr(run_insights, "insights", fails_first)
    run = Run(tmp_path)
    run.settle(RECORDS[:5])
    assert run.warned == ["insights not computed: singular matrix"] and run.said == []
    run.insights.refresh(RecordBook(RECORDS[:9]))  # the same milestone: not retried
    assert calls == [5] and run.warned == ["insights not computed: singular matrix"]
    run.settle(RECORDS[:10])
    assert calls == [5, 10] and run.insights.status.insights_from == 10 and run.said

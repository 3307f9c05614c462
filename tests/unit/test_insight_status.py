"""Insights in a Study's status: computed at milestones, announced once, restart-safe."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.unit.test_kube_status import study_obj, trial_obj
from tradeoff.engine import insight_status
from tradeoff.kube.reconcile import plan_study

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def trials(n: int) -> list[dict[str, Any]]:
    """`n` succeeded trials whose accuracy is their x (x = number / 10)."""
    return [trial_obj(i, "Succeeded", i / 10) for i in range(n)]


def insight_events(plan: Any) -> list[str]:
    return [e.message for e in plan.events if e.reason == "Insight"]


def test_insights_appear_at_the_first_milestone_with_one_event_each() -> None:
    before = plan_study(study_obj(max_trials=20), trials(4), T0)
    assert before.status.insights == [] and before.status.insights_from is None
    plan = plan_study(study_obj(max_trials=20, status=before.status.wire()), trials(5), T0)
    found = plan.status.insights
    assert plan.status.insights_from == 5
    assert [(i.kind, i.subject) for i in found] == [("importance", "accuracy")]
    assert found[0].evidence == {"x": 1.0}
    assert insight_events(plan) == ["accuracy: x 100% (fANOVA over 5 trials)"]
    assert next(e for e in plan.events if e.reason == "Insight").type == "Normal"


def test_passes_between_milestones_reuse_the_status(monkeypatch: pytest.MonkeyPatch) -> None:
    first = plan_study(study_obj(max_trials=20), trials(5), T0)

    def not_again(*_: object) -> list[Any]:
        raise AssertionError("insights recomputed before the next milestone")

    monkeypatch.setattr(insight_status, "insights", not_again)
    plan = plan_study(study_obj(max_trials=20, status=first.status.wire()), trials(9), T0)
    assert plan.status.insights == first.status.insights
    assert plan.status.insights_from == 5 and insight_events(plan) == []


def test_a_new_milestone_recomputes_and_announces_only_what_is_new() -> None:
    """What the status recorded is what a restarted operator compares with: nothing is
    posted twice, whichever process computes the next milestone."""
    first = plan_study(study_obj(max_trials=20), trials(5), T0)
    plan = plan_study(study_obj(max_trials=20, status=first.status.wire()), trials(10), T0)
    assert plan.status.insights_from == 10
    assert plan.status.insights[0].message == "accuracy: x 100% (fANOVA over 10 trials)"
    assert insight_events(plan) == []


def test_the_end_of_a_study_computes_its_insights_once() -> None:
    ended = plan_study(study_obj(max_trials=7), trials(7), T0)
    assert ended.status.state == "Succeeded" and ended.status.insights_from == 7
    assert len(insight_events(ended)) == 1
    again = plan_study(study_obj(max_trials=7, status=ended.status.wire()), trials(7), T0)
    assert not again.status_changed and insight_events(again) == []

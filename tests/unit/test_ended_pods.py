"""Ended pods are deleted once their trial is finished, whichever event comes first."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tradeoff.kube.ended_pods import EndedPods
from tradeoff.kube.pods import owner_reference


def trial(name: str, state: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns"}, "status": {"state": state}}


def pod(name: str, trial: str, phase: str, owner_kind: str = "Trial") -> dict[str, Any]:
    owners = [owner_reference(owner_kind, trial, f"{trial}-uid")]
    meta = {"name": name, "namespace": "ns", "ownerReferences": owners}
    return {"metadata": meta, "status": {"phase": phase}}


def test_a_pod_goes_only_once_it_ended_and_its_trial_is_finished() -> None:
    ended = EndedPods()
    assert ended.pod(pod("t-a1", "t", "Running")) == []
    assert ended.trial(trial("t", "Running")) == []
    assert ended.pod(pod("t-a1", "t", "Succeeded")) == []  # its trial's end is not recorded
    assert ended.trial(trial("t", "Succeeded")) == ["t-a1"]
    assert ended.trial(trial("t", "Succeeded")) == []  # asked once


def test_after_a_restart_the_trial_may_come_first() -> None:
    ended = EndedPods()
    assert ended.trial(trial("t", "Failed")) == []
    assert ended.pod(pod("t-a1", "t", "Failed")) == ["t-a1"]
    assert ended.pod(pod("t-a2", "t", "Succeeded")) == ["t-a2"]


def test_a_workloads_pods_and_deleted_ones_are_left_alone() -> None:
    ended = EndedPods()
    ended.trial(trial("t", "Succeeded"))
    assert ended.pod(pod("job-x", "t", "Succeeded", owner_kind="Job")) == []
    assert ended.pod(pod("t-a1", "t", "Succeeded"), deleted=True) == []
    ended.pod(pod("u-a1", "u", "Succeeded"))
    ended.pod(pod("u-a1", "u", "Succeeded"), deleted=True)  # gone before its trial ended
    assert ended.trial(trial("u", "Succeeded")) == []


events = st.permutations(["pod-running", "pod-ended", "trial-running", "trial-finished"]).filter(
    lambda order: (
        order.index("pod-running") < order.index("pod-ended")
        and order.index("trial-running") < order.index("trial-finished")
    )
)  # each object's own events in order, the two objects' interleaved anyhow


@given(events)
def test_each_ended_pod_is_deleted_exactly_once_in_any_order(order: list[str]) -> None:
    ended = EndedPods()
    deleted: list[str] = []
    for event in order:
        kind, _, what = event.partition("-")
        if kind == "pod":
            deleted += ended.pod(pod("t-a1", "t", "Succeeded" if what == "ended" else "Running"))
        else:
            deleted += ended.trial(trial("t", "Succeeded" if what == "finished" else "Running"))
    assert deleted == ["t-a1"]

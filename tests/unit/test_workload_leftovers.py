"""Which workloads a Study's pass deletes as leftovers, and when it looks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kubernetes.client.exceptions import ApiException

from tradeoff.api.study import Study
from tradeoff.api.trial import Trial
from tradeoff.api.workload import Workload
from tradeoff.engine.validation import validate_study
from tradeoff.kube import leftovers as module
from tradeoff.kube.leftovers import (
    WorkloadSweeps,
    attempt_positions,
    clean_workloads,
    leftovers,
)

JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "spec": {"template": {"spec": {"containers": [{"name": "t", "image": "t:1"}]}}},
}
COMPLETE = {"conditions": [{"type": "Complete", "status": "True"}]}
FAILED = {"conditions": [{"type": "Failed", "status": "True"}]}


def job_workload() -> Workload:
    study: Study = validate_study(
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Study",
            "metadata": {"name": "s"},
            "spec": {
                "objectives": [{"name": "loss", "direction": "minimize"}],
                "parameters": [{"name": "x", "type": "float", "low": 0, "high": 1}],
                "trialTemplate": {"workload": JOB},
            },
        }
    )
    assert study.spec.trial_template.workload is not None
    return study.spec.trial_template.workload


def made(trial_uid: str, attempt: int, **extra: Any) -> dict[str, Any]:
    name = f"{trial_uid}-a{attempt}"
    meta: dict[str, Any] = {
        "name": name,
        "labels": {"tradeoff.dev/attempt": str(attempt)},
        "ownerReferences": [{"kind": "Trial", "uid": trial_uid, "controller": True}],
    }
    meta.update(extra.pop("metadata", {}))
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, **extra}


@pytest.mark.parametrize(
    ("position", "attempt", "extra", "deleted"),
    [
        ((True, 1), 1, {}, True),  # finished (pruned, cancelled): its running Job goes
        ((True, 1), 1, {"status": COMPLETE}, False),  # ended by itself: kept, as pods are
        ((True, 1), 1, {"status": FAILED}, False),
        ((True, 1), 1, {"metadata": {"deletionTimestamp": "2026-12-01T00:00:00Z"}}, False),
        ((True, 0), 1, {}, True),  # made, never counted, and the trial was cancelled
        ((False, 2), 1, {}, True),  # superseded by attempt 2
        ((False, 1), 1, {}, False),  # the running attempt
        ((False, 1), 2, {}, False),  # made, not counted yet: the driver adopts it
        ((False, 0), 1, {"spec": {"suspend": True}}, False),  # queued, not counted yet
        ((True, 1), 1, {"spec": {"suspend": True}}, True),  # queued for a finished trial
    ],
)
def test_which_workloads_are_leftovers(
    position: tuple[bool, int], attempt: int, extra: dict[str, Any], deleted: bool
) -> None:
    found = leftovers(job_workload(), {"u1": position}, [made("u1", attempt, **extra)])
    assert found == ([f"u1-a{attempt}"] if deleted else [])


def test_only_workloads_the_studys_own_trials_control_are_touched() -> None:
    foreign = made("u9", 1)  # labelled for the study, controlled by no Trial of it
    unlabelled = made("u1", 1)
    unlabelled["metadata"]["labels"] = {}
    assert leftovers(job_workload(), {"u1": (True, 1)}, [foreign, unlabelled]) == []


def test_positions_count_finished_and_parked_trials_as_wanting_nothing() -> None:
    def trial(number: int, state: str | None, reason: str | None, attempts: int) -> Trial:
        t = Trial.new("s", number, {"x": 0.5})
        t.metadata.model_extra["uid"] = f"u{number}"  # type: ignore[index]
        t.status.state, t.status.reason, t.status.attempts = state, reason, attempts  # type: ignore[assignment]
        return t

    trials = [
        trial(0, "Pruned", "Pruned", 1),
        trial(1, "Running", None, 2),
        trial(2, "Pending", "Cancelled", 1),  # cancelled, waits for the study to resume
        Trial.new("s", 3, {"x": 0.1}),  # made by this very pass: no uid yet
    ]
    assert attempt_positions(trials) == {"u0": (True, 1), "u1": (False, 2), "u2": (True, 1)}


def test_the_sweep_looks_when_the_trials_changed_or_a_while_passed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    sweeps = WorkloadSweeps()
    key = ("ns", "s")
    assert sweeps.due(key, {"u1": (False, 1)})  # the first pass (after a restart) looks
    assert not sweeps.due(key, {"u1": (False, 1)})
    assert sweeps.due(key, {"u1": (True, 1)})  # a trial finished
    clock[0] += module.RESYNC
    assert sweeps.due(key, {"u1": (True, 1)})
    sweeps.forget(key)
    assert sweeps.due(key, {"u1": (True, 1)})


class FakeKube:
    """TEST DOUBLE of `tradeoff.kube.client.Kube`: the workloads it holds, what was asked."""

    def __init__(self, objects: list[dict[str, Any]], refuse: int | None = None) -> None:
        self.objects, self.refuse = objects, refuse
        self.listed: list[tuple[str, str, str, str]] = []
        self.deleted: list[str] = []

    def list_workloads(
        self, api_version: str, plural: str, namespace: str, selector: str
    ) -> list[dict[str, Any]]:
        self.listed.append((api_version, plural, namespace, selector))
        if self.refuse is not None:
            raise ApiException(status=self.refuse, reason="Forbidden")
        return self.objects

    def delete_workload(self, api_version: str, plural: str, namespace: str, name: str) -> None:
        self.deleted.append(name)


def study_with_trials() -> tuple[Study, list[Trial]]:
    study = validate_study(
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Study",
            "metadata": {"name": "s", "namespace": "team-a"},
            "spec": {
                "objectives": [{"name": "loss", "direction": "minimize"}],
                "parameters": [{"name": "x", "type": "float", "low": 0, "high": 1}],
                "trialTemplate": {"workload": JOB},
            },
        }
    )
    pruned = Trial.new("s", 0, {"x": 0.5})
    pruned.metadata.model_extra["uid"] = "u1"  # type: ignore[index]
    pruned.status.state, pruned.status.attempts = "Pruned", 1
    return study, [pruned]


def test_clean_workloads_lists_the_studys_kind_and_deletes_the_leftovers() -> None:
    study, trials = study_with_trials()
    kube = FakeKube([made("u1", 1), made("u1", 2, status=COMPLETE)])
    resources = {("batch/v1", "Job"): "jobs"}
    sweeps = WorkloadSweeps()
    clean_workloads(kube, resources, sweeps, "team-a", study, trials)  # type: ignore[arg-type]
    assert kube.listed == [("batch/v1", "jobs", "team-a", "tradeoff.dev/study=s")]
    assert kube.deleted == ["u1-a1"]
    clean_workloads(kube, resources, sweeps, "team-a", study, trials)  # type: ignore[arg-type]
    assert len(kube.listed) == 1  # nothing changed: no second listing
    clean_workloads(kube, {}, WorkloadSweeps(), "team-a", study, trials)  # type: ignore[arg-type]
    assert len(kube.listed) == 1  # a kind the operator may not create: nothing to look for


def test_a_refused_listing_is_logged_and_the_pass_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    study, trials = study_with_trials()
    kube = FakeKube([made("u1", 1)], refuse=403)
    resources = {("batch/v1", "Job"): "jobs"}
    clean_workloads(kube, resources, WorkloadSweeps(), "team-a", study, trials)  # type: ignore[arg-type]
    assert kube.deleted == []
    assert "Cannot look for leftover Job of study team-a/s (403 Forbidden)" in caplog.text


@settings(max_examples=200, deadline=None)
@given(
    trials=st.dictionaries(
        st.sampled_from(["u1", "u2", "u3"]),
        st.tuples(st.booleans(), st.integers(0, 3)),
        max_size=3,
    ),
    made_ones=st.lists(
        st.tuples(
            st.sampled_from(["u1", "u2", "u3", "u9"]),
            st.integers(1, 4),
            st.sampled_from([None, COMPLETE, FAILED]),
            st.booleans(),
        ),
        max_size=8,
        unique_by=lambda made_one: made_one[:2],  # one workload per name
    ),
)
def test_a_sweep_never_touches_what_a_driver_runs_or_adopts(
    trials: dict[str, tuple[bool, int]], made_ones: list[tuple[str, int, Any, bool]]
) -> None:
    """Whatever the Trials and workloads, the sweep names only workloads of the Study's
    Trials that have not ended, and of those only attempts the trial is done with: never
    the running attempt nor one not yet counted (which a restarted driver adopts)."""
    objects = []
    for uid, attempt, status, deleting in made_ones:
        extra: dict[str, Any] = {"status": status} if status else {}
        if deleting:
            extra["metadata"] = {"deletionTimestamp": "2026-12-01T00:00:00Z"}
        objects.append(made(uid, attempt, **extra))
    named = leftovers(job_workload(), trials, objects)
    for obj in objects:
        meta, name = obj["metadata"], obj["metadata"]["name"]
        if name not in named:
            continue
        done, attempts = trials[meta["ownerReferences"][0]["uid"]]
        attempt = int(meta["labels"]["tradeoff.dev/attempt"])
        assert done or attempt < attempts
        assert "status" not in obj and "deletionTimestamp" not in meta

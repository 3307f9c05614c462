"""Workload trials are woken by events: their workload's (a watch per allowed kind) and
their pods' (the trial label); a driver that waits parks for news, re-checking only every
30 s as a safety net, never on a 0.5 s poll."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import kopf
import pytest

from tests.unit.test_pods import pending_pod
from tests.unit.test_trial_drivers import FailingKube, trial_body, wait_for
from tests.unit.test_workloads import container, study, trial
from tradeoff.api.trial import STUDY_LABEL, TRIAL_LABEL, TrialStatus
from tradeoff.kube import handlers
from tradeoff.kube.attemptlog import Park
from tradeoff.kube.client import now_utc, rfc3339
from tradeoff.kube.context import Context
from tradeoff.kube.feeds import Feeds
from tradeoff.kube.settings import Settings
from tradeoff.kube.trialbase import PENDING_POLL, park
from tradeoff.kube.trials import TrialDriver
from tradeoff.kube.workload_steps import UNLABELLED_PODS_RECHECK, WORKLOAD_RECHECK
from tradeoff.kube.workloads import PRIMARY_LABEL

KINDS = {("batch/v1", "Job"): "jobs", ("kubeflow.org/v1", "PyTorchJob"): "pytorchjobs"}
JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "spec": {"template": {"spec": {"containers": [container()]}}},
}
TRAINJOB = {
    "apiVersion": "trainer.kubeflow.org/v1alpha1",
    "kind": "TrainJob",
    "spec": {"runtimeRef": {"name": "torch"}, "trainer": {"image": "t:1", "numNodes": 2}},
}


# -- the watches: one per allowed kind, and workload pods by their trial label ------------
def registered() -> tuple[FailingKube, Any, dict[str, Any]]:
    kube = FailingKube()
    ctx = Context(kube=kube, settings=Settings(namespaces=("ns",), workload_resources=KINDS))
    registry = kopf.OperatorRegistry()
    drivers = handlers.register(registry, ctx, peering=False)
    found = {h.id: h for h in registry._watching.get_all_handlers()}
    body = trial_body("5")
    ctx.store.trial(body)
    drivers.trial(body, runnable=True)  # its first read fails: a retry is due in 0.5 s
    wait_for(lambda: len(kube.times) == 1)
    return kube, drivers, found


def test_each_allowed_kind_is_watched_for_objects_labelled_with_a_study() -> None:
    _, drivers, found = registered()
    watched = {
        (h.selector.group, h.selector.version, h.selector.any_name): h.labels
        for hid, h in found.items()
        if hid.startswith("workload-seen-")
    }
    labelled = {STUDY_LABEL: kopf.PRESENT, TRIAL_LABEL: kopf.PRESENT}
    assert watched == {
        ("batch", "v1", "jobs"): labelled,
        ("kubeflow.org", "v1", "pytorchjobs"): labelled,
    }
    drivers.close()


def test_a_workloads_event_wakes_its_trials_driver_at_once() -> None:
    kube, drivers, found = registered()
    labels = {STUDY_LABEL: "demo", TRIAL_LABEL: "demo-0003"}
    event = found["workload-seen-jobs.batch"].fn
    asyncio.run(event(namespace="ns", labels=labels, body={}, type="MODIFIED"))
    wait_for(lambda: len(kube.times) == 2, timeout=0.3)  # before its retry was due
    asyncio.run(event(namespace="ns", labels={**labels, TRIAL_LABEL: "other"}, body={}))
    time.sleep(0.2)
    assert len(kube.times) == 2  # another trial's workload: no driver of its own here
    drivers.close()


def test_an_event_of_a_pod_a_workload_made_wakes_its_trials_driver() -> None:
    kube, drivers, _ = registered()
    labels = {STUDY_LABEL: "demo", TRIAL_LABEL: "demo-0003", PRIMARY_LABEL: "true"}
    pod = {"metadata": {"name": "demo-0003-a1-0", "namespace": "ns", "labels": labels}}
    Feeds(drivers._ctx, drivers, None).pod("ADDED", pod)  # the pods informer's event
    wait_for(lambda: len(kube.times) == 2, timeout=0.3)  # no pod slot was expected
    drivers.close()


# -- a driver that waits parks for news; its re-check is a safety net -----------------
class WorkloadKube:
    """TEST DOUBLE of the API for one trial's workload: the workload and pods it is given."""

    def __init__(self, workload: dict[str, Any], pods: list[dict[str, Any]]) -> None:
        self.workload, self.pods = workload, pods
        self.statuses: list[Any] = []

    def get_workload(self, api_version: str, plural: str, namespace: str, name: str) -> Any:
        return self.workload

    def select_pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        return self.pods

    def replace_status(self, plural: str, namespace: str, name: str, status: Any) -> Any:
        self.statuses.append(status)
        return {"metadata": {"name": name, "resourceVersion": str(len(self.statuses))}}


def waiting(
    workload: dict[str, Any], obj: dict[str, Any], pods: list[dict[str, Any]], watching: bool
) -> tuple[float | None, WorkloadKube, list[float]]:
    """Step a Pending trial's started workload once: (seconds parked, the API, sleeps)."""
    kube = WorkloadKube(obj, pods)
    ctx = Context(kube=kube, settings=Settings(namespaces=("team-a",)))  # type: ignore[arg-type]
    ctx.watching = watching
    slept: list[float] = []
    driver = TrialDriver(
        ctx, "team-a", "demo-0002", lambda: False, park if watching else slept.append
    )
    running = trial()
    running.status = TrialStatus(state="Pending", attempts=1)
    try:
        assert driver._workload_step(study(workload), running) is True
    except Park as parked:
        return parked.seconds, kube, slept
    return None, kube, slept


def test_a_job_without_its_pod_yet_waits_for_events_not_a_poll() -> None:
    parked, kube, _ = waiting(JOB, {"metadata": {"name": "demo-0002-a1"}}, [], watching=True)
    assert parked == WORKLOAD_RECHECK == 30.0
    assert kube.statuses[-1]["reason"] == "WaitingForPods"


def test_a_suspended_job_waits_for_its_event_of_admission() -> None:
    suspended = {"metadata": {"name": "demo-0002-a1"}, "spec": {"suspend": True}}
    parked, kube, _ = waiting(JOB, suspended, [], watching=True)
    assert parked == WORKLOAD_RECHECK
    assert kube.statuses[-1]["reason"] == "WaitingForQuota"


def test_a_primary_pod_failing_to_pull_parks_until_its_pull_timeout() -> None:
    pod = pending_pod({"reason": "ImagePullBackOff", "message": "no such image"})
    pod["metadata"]["labels"] = {PRIMARY_LABEL: "true"}
    pod["metadata"]["creationTimestamp"] = rfc3339(now_utc() - timedelta(seconds=290))
    parked, _, _ = waiting(JOB, {"metadata": {"name": "demo-0002-a1"}}, [pod], watching=True)
    assert parked is not None and 9 < parked < 11  # 300 s pending timeout, 290 s gone


def test_a_trainjobs_unlabelled_pods_are_looked_for_every_two_seconds() -> None:
    parked, _, _ = waiting(TRAINJOB, {"metadata": {"name": "demo-0002-a1"}}, [], watching=True)
    assert parked == UNLABELLED_PODS_RECHECK == 2.0


def test_without_watches_the_driver_sleeps_briefly() -> None:
    parked, _, slept = waiting(JOB, {"metadata": {"name": "demo-0002-a1"}}, [], watching=False)
    assert parked is None and slept == [PENDING_POLL]


@pytest.mark.parametrize("seconds", [None, 1.0, 600.0])
def test_a_followed_log_parks_at_most_the_safety_recheck(seconds: float | None) -> None:
    class Parked(TrialDriver):
        def _follow(self, *args: Any) -> bool:
            raise Park(seconds)

    pod = pending_pod()
    pod["metadata"]["labels"] = {PRIMARY_LABEL: "true"}
    pod["status"]["phase"] = "Running"
    kube = WorkloadKube({"metadata": {"name": "demo-0002-a1"}}, [pod])
    ctx = Context(kube=kube, settings=Settings(namespaces=("team-a",)))  # type: ignore[arg-type]
    ctx.watching = True
    driver = Parked(ctx, "team-a", "demo-0002", lambda: False, park)
    running = trial()
    running.status = TrialStatus(state="Running", attempts=1)
    with pytest.raises(Park) as parked:
        driver._workload_step(study(JOB), running)
    assert parked.value.seconds == min(seconds or WORKLOAD_RECHECK, WORKLOAD_RECHECK)

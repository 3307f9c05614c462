"""Workload trials are driven by events: their workload's and pods' watch events, no poll.

The real operator runs against the emulator; `FakeWorkloadController` (a test double of
the Job controller) makes each Job's pods and sets its `Complete` condition once they
end. The driver reads the Job only when an event wakes it, so a Job that runs for
seconds costs a handful of reads, and its trial ends within a second of its condition.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, state, trials, wait_study
from tests.e2e.test_operator_workloads import ALLOW, _container, cluster, workload_study

__all__ = ["cluster"]
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

RUN_SECONDS = 8.0
"""How long the trial's Job runs: a 0.5 s poll read it about 2.5 times a second."""


def _completed_at(job: dict[str, Any] | None) -> bool:
    conditions = ((job or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions)


def test_a_job_trial_ends_on_its_jobs_event_with_few_reads(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone", env=ALLOW)
    workload = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {"containers": [_container(sleep=str(RUN_SECONDS))]}},
        },
    }
    manifest = workload_study("evjobs", workload, budget={"maxTrials": 1, "parallelism": 1})
    cluster.emulator.reset_request_counts()
    assert apply(cluster, manifest).returncode == 0
    # Watch the store (not the API: no request counted) for the Job's condition and the
    # Trial's end, noting when each was first seen.
    job_done = trial_done = None
    deadline = time.monotonic() + 60
    while trial_done is None and time.monotonic() < deadline:
        now = time.monotonic()
        if job_done is None and _completed_at(cluster.get("jobs", "evjobs-0000-a1", group="batch")):
            job_done = now
        found = cluster.get("trials", "evjobs-0000", group="tradeoff.dev")
        if found is not None and state(found) in ("Succeeded", "Failed"):
            trial_done = now
        time.sleep(0.02)
    assert job_done is not None and trial_done is not None
    assert state(found or {}) == "Succeeded", (found or {}).get("status")
    assert trial_done - job_done < 1.0  # woken by the Job's event, not a due time
    done = wait_study(cluster, "evjobs", timeout=30)
    assert state(done) == "Succeeded", done["status"]
    [trial] = trials(cluster, "evjobs")
    assert trial["status"]["metrics"]["accuracy"] > 0
    reads = cluster.request_counts()
    # A read per event (the Job made, its pod made, scheduled, running, ended, the Job
    # complete), whatever the run time: the 0.5 s poll read the Job 11 times in a 4 s run.
    assert reads[("get", "jobs.batch")] <= 10, reads
    assert reads[("list", "pods")] <= 12, reads

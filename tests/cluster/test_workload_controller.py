"""The workload test doubles: the controller makes each workload's pods and status, the
Kueue double holds a queued workload suspended until its queue is released."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Cluster


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with Cluster(workloads=True) as running:
        yield running


def _job(name: str, code: str, **spec: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "x", "command": ["python", "-c", code]}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": spec.pop("labels", {})},
        "spec": {"template": {"spec": {"containers": [container]}}, **spec},
    }


def _condition(cluster: Cluster, name: str) -> str | None:
    found = cluster.get("jobs", name, group="batch") or {}
    for c in (found.get("status") or {}).get("conditions") or []:
        if c.get("status") == "True":
            return str(c["type"])
    return None


def test_a_job_runs_its_pods_and_completes_or_fails(cluster: Cluster) -> None:
    cluster.apply(_job("ok", "print('hi')", parallelism=2))
    cluster.apply(_job("bad", "raise SystemExit(4)"))
    assert cluster.wait_for(lambda: _condition(cluster, "ok"), timeout=20) == "Complete"
    assert cluster.wait_for(lambda: _condition(cluster, "bad"), timeout=20) == "Failed"
    pods = cluster.list("pods", selector="job-name=ok")
    assert sorted(p["metadata"]["name"] for p in pods) == ["ok-0", "ok-1"]
    assert {p["metadata"]["ownerReferences"][0]["kind"] for p in pods} == {"Job"}
    assert cluster.pod_log("ok-0") == "hi\n"


def test_a_queued_job_stays_suspended_until_its_queue_is_released(cluster: Cluster) -> None:
    queue = {"kueue.x-k8s.io/queue-name": "q"}
    cluster.apply(_job("held", "print(1)", suspend=True, labels=queue))
    cluster.apply(
        _job("other", "print(1)", suspend=True, labels={"kueue.x-k8s.io/queue-name": "r"})
    )
    assert cluster.workloads is not None and cluster.kueue is not None
    time.sleep(0.5)  # five passes of both doubles
    assert cluster.list("pods") == []
    cluster.kueue.release("q")
    assert cluster.wait_for(lambda: _condition(cluster, "held"), timeout=20) == "Complete"
    held = cluster.get("jobs", "held", group="batch")
    assert held is not None and held["spec"]["suspend"] is False
    other = cluster.get("jobs", "other", group="batch")
    assert other is not None and other["spec"]["suspend"] is True
    assert [p["metadata"]["name"] for p in cluster.list("pods")] == ["held-0"]

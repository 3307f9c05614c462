"""API faults cost seconds: the same study clean and through a fault-injecting proxy."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from tests.cluster.faultproxy import FaultInjectingProxy
from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    Operator,
    apply,
    pods,
    state,
    study,
    study_manifest,
    trials,
    wait_study,
    wait_trials,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]
TRIALS = 12


def timed_study(
    cluster: Cluster, operator: Callable[..., Operator], name: str, env: dict[str, str]
) -> tuple[float, Operator]:
    """Seconds from `kubectl apply` to Succeeded, with a fresh operator."""
    op = operator("--standalone", env=env)
    cluster.wait_for(lambda: "Tradeoff operator watching" in op.log, timeout=30)
    manifest = study_manifest(
        name, budget={"maxTrials": TRIALS, "parallelism": 2}, env={"SLEEP": "1.0"}
    )
    start = time.monotonic()
    apply(cluster, manifest)
    done = wait_study(cluster, name, timeout=90)
    took = time.monotonic() - start
    assert state(done) == "Succeeded" and done["status"]["progress"] == f"{TRIALS}/{TRIALS}"
    return took, op


def assert_each_trial_once(cluster: Cluster, name: str) -> None:
    """Every trial Succeeded after one attempt with one pod; no number or pod twice."""
    listed = trials(cluster, name)
    assert [t["metadata"]["name"] for t in listed] == [f"{name}-{i:04d}" for i in range(TRIALS)]
    assert all(state(t) == "Succeeded" and t["status"]["attempts"] == 1 for t in listed), [
        (
            t["metadata"]["name"],
            state(t),
            t["status"].get("attempts"),
            t["status"].get("reason"),
            t["status"].get("message"),
        )
        for t in listed
    ]
    assert all("accuracy" in t["status"]["metrics"] for t in listed)
    assert [p["metadata"]["name"] for p in pods(cluster, name)] == [
        f"{name}-{i:04d}-a1" for i in range(TRIALS)
    ]
    counts = cluster.get("studies", name, group="tradeoff.dev")["status"]["trials"]  # type: ignore[index]
    assert counts["succeeded"] == TRIALS and counts["created"] == TRIALS, counts


def test_api_faults_cost_seconds_and_lose_nothing(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    """5% of requests answered 500/429/409 and watches cut: at most twice the clean wall
    time, and every trial once (TRADEOFF_E2E_FAULT_SEED picks other faults)."""
    clean, first = timed_study(cluster, operator, "clean", {})
    first.stop()
    assert_each_trial_once(cluster, "clean")
    seed = int(os.environ.get("TRADEOFF_E2E_FAULT_SEED", "7"))
    with FaultInjectingProxy(cluster.url, rate=0.05, seed=seed) as proxy:
        kubeconfig = proxy.write_kubeconfig(tmp_path / "faulty-kubeconfig", cluster.namespace)
        faulty, second = timed_study(cluster, operator, "faulty", {"KUBECONFIG": str(kubeconfig)})
        injected = dict(proxy.injected)
        forwarded = proxy.forwarded
        second.stop()
    print(f"clean {clean:.1f} s, faulted {faulty:.1f} s; {forwarded} forwarded, {injected}")
    assert_each_trial_once(cluster, "faulty")
    errors = sum(n for (kind, _), n in injected.items() if not kind.startswith("cut"))
    # The proxy was in the way and did fail requests (5% of the ~150 a 12-trial study makes).
    assert errors >= 5, injected
    assert any(kind.startswith("cut") for kind, _ in injected), injected
    assert faulty <= 2 * clean, f"faulted {faulty:.1f} s against clean {clean:.1f} s"


def logged_at(log: str, text: str) -> datetime:
    """When the first log line holding `text` was written."""
    line = next(line for line in log.splitlines() if text in line)
    return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")


def test_a_restarted_operator_acts_at_once(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """One replica with peering on (the default), killed and restarted twice: each time it
    creates the next trial as soon as it is up, never after the minute kopf keeps the dead
    one's peering entry (with a random priority, a lower one waited for it)."""
    op = operator()
    # Trials of 2 s: the operator records Running 0.5 s after a pod starts, so a shorter
    # trial may end before the poll below sees it Running.
    manifest = study_manifest(
        "restarted", budget={"maxTrials": 6, "parallelism": 1}, env={"SLEEP": "2.0"}
    )
    apply(cluster, manifest)
    waits, totals = [], []
    for _ in range(2):
        count = len(
            wait_trials(cluster, "restarted", lambda ts: bool(ts) and state(ts[-1]) == "Running")
        )
        op.kill()
        started = time.monotonic()
        op = operator()
        wait_trials(cluster, "restarted", lambda ts, n=count: len(ts) > n, timeout=50)
        totals.append(time.monotonic() - started)
        # The API shows the trial before the operator's log line about it has been read.
        cluster.wait_for(lambda o=op: "Created trial" in o.log, timeout=10, message="its log line")
        up = logged_at(op.log, "Tradeoff operator watching")
        waits.append((logged_at(op.log, "Created trial") - up).total_seconds())
        assert "Pausing" not in op.log
    print(f"next trial {waits} s after the restarted operator was up ({totals} s after start)")
    assert max(waits) < 5, waits
    wait_study(cluster, "restarted", timeout=40)
    assert [t["metadata"]["name"] for t in trials(cluster, "restarted")] == [
        f"restarted-{i:04d}" for i in range(6)
    ]


def test_a_finished_study_costs_nothing_until_its_spec_changes(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--standalone")  # the timer looks every second (TRADEOFF_RECONCILE_INTERVAL=1)
    apply(cluster, study_manifest("resting", budget={"maxTrials": 2, "parallelism": 2}))
    wait_study(cluster, "resting", timeout=40)
    cluster.wait_for(  # a child process computes the final insights: a pass records them
        lambda: (study(cluster, "resting").get("status") or {}).get("insightsFrom") == 2,
        timeout=30,
        message="the final insights are recorded",
    )
    time.sleep(1.5)  # the last trial's driver and pass settle
    before = cluster.request_counts()
    time.sleep(4)
    during = cluster.request_counts() - before
    reads = {
        key: n for key, n in during.items() if key[1].startswith(("trials", "studies", "pods"))
    }
    assert not reads, reads  # no pass: no get of the Study, no list of Trials or Pods
    patch = '{"spec": {"budget": {"maxTrials": 4}}}'
    cluster.kubectl("patch", "study", "resting", "--type=merge", "-p", patch, check=True)
    cluster.wait_for(
        lambda: (
            (study(cluster, "resting").get("status") or {}).get("progress") == "4/4"
            and state(study(cluster, "resting")) == "Succeeded"
        ),
        timeout=40,
        message="the edited study runs two more trials",
    )
    assert [t["metadata"]["name"] for t in trials(cluster, "resting")] == [
        f"resting-{i:04d}" for i in range(4)
    ]

"""Restart safety, spec edits and peering: the operator is killed, edited under, doubled."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    GROUP,
    REPO,
    Operator,
    apply,
    condition,
    pods,
    state,
    study,
    study_manifest,
    trials,
    wait_study,
    wait_trials,
)
from tests.e2e.test_operator_study import fetch, free_port
from tradeoff.engine import resolve_algorithm
from tradeoff.engine.validation import validate_study

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
CRASH_EXIT = 70


def finished(cluster: Cluster, name: str) -> dict[str, dict[str, object]]:
    return {
        t["metadata"]["name"]: t["status"]
        for t in trials(cluster, name)
        if state(t) in ("Succeeded", "Failed", "Pruned")
    }


def assert_exactly(cluster: Cluster, name: str, count: int) -> None:
    """`count` trials, all Succeeded, one pod each (no duplicate Trial or Pod)."""
    listed = trials(cluster, name)
    assert [t["metadata"]["name"] for t in listed] == [f"{name}-{i:04d}" for i in range(count)]
    assert all(state(t) == "Succeeded" for t in listed), [t["status"] for t in listed]
    assert [p["metadata"]["name"] for p in pods(cluster, name)] == [
        f"{name}-{i:04d}-a1" for i in range(count)
    ]
    assert all(t["status"]["attempts"] == 1 for t in listed)


def assert_one_pod_per_attempt(cluster: Cluster, name: str, count: int) -> None:
    """`count` Trials; each trial's pods are `<trial>-a1..a<attempts>`, none twice, none
    beyond its recorded attempts (pods of pruned trials may be gone)."""
    listed = trials(cluster, name)
    assert [t["metadata"]["name"] for t in listed] == [f"{name}-{i:04d}" for i in range(count)]
    found = [p["metadata"]["name"] for p in pods(cluster, name)]
    assert len(found) == len(set(found))
    for t in listed:
        trial, attempts = t["metadata"]["name"], t["status"]["attempts"]
        mine = sorted(p for p in found if p.rsplit("-a", 1)[0] == trial)
        expected = [f"{trial}-a{k}" for k in range(1, attempts + 1)]
        if state(t) == "Pruned":
            assert set(mine) <= set(expected), (trial, mine)
        else:
            assert mine == expected, (trial, mine)


@pytest.mark.parametrize(
    "point",
    [
        "after-trial-create",
        "before-pod-create",
        "after-pod-create",
        "before-trial-finish",
        "after-trial-finish",
        "after-pod-create:3",  # trials have finished by the third pod (parallelism 2)
        "before-trial-finish:3",  # the third trial starts only after one finished
    ],
)
def test_a_crash_at_any_point_loses_nothing_and_duplicates_nothing(
    cluster: Cluster, operator: Callable[..., Operator], point: str
) -> None:
    crashing = operator("--standalone", env={"TRADEOFF_CRASH_AT": point})
    apply(cluster, study_manifest("restart", budget={"maxTrials": 4, "parallelism": 2}))
    assert crashing.wait_exit(30) == CRASH_EXIT
    before = finished(cluster, "restart")
    if point.endswith(":3"):
        assert before, "some trials should have finished before the crash"
    operator("--standalone")
    done = wait_study(cluster, "restart", timeout=40)
    assert done["status"]["state"] == "Succeeded" and done["status"]["progress"] == "4/4"
    assert_exactly(cluster, "restart", 4)
    after = finished(cluster, "restart")
    for name, status in before.items():  # what had finished stays exactly as it was
        assert after[name] == status


FAIL_FIRST_ATTEMPT = (
    "import json, os, sys\n"
    "if os.environ['ATTEMPT'] == '1':\n"
    "    sys.exit(3)\n"
    "print('TRADEOFF_METRICS ' + json.dumps({'accuracy': 0.5}))\n"
)


def test_a_crash_between_a_retry_pod_and_its_attempt_count(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """Attempt 2's pod exists but the Trial still says attempts=1: it is adopted, not doubled."""
    manifest = study_manifest(
        "retried",
        code=FAIL_FIRST_ATTEMPT,
        budget={"maxTrials": 3, "parallelism": 2},
        template={"retries": 1},
    )
    container = manifest["spec"]["trialTemplate"]["pod"]["containers"][0]
    label = "metadata.labels['tradeoff.dev/attempt']"
    container["env"].append({"name": "ATTEMPT", "valueFrom": {"fieldRef": {"fieldPath": label}}})
    # The third retry pod is trial 2's: trials 0 or 1 have finished by then.
    crashing = operator("--standalone", env={"TRADEOFF_CRASH_AT": "after-retry-pod-create:3"})
    apply(cluster, manifest)
    assert crashing.wait_exit(40) == CRASH_EXIT
    before = finished(cluster, "retried")
    assert before
    crashed = [t for t in trials(cluster, "retried") if state(t) not in ("Succeeded", "Failed")]
    assert any(t["status"]["attempts"] == 1 for t in crashed)
    operator("--standalone")
    done = wait_study(cluster, "retried", timeout=40)
    assert done["status"]["state"] == "Succeeded"
    listed = trials(cluster, "retried")
    assert all(state(t) == "Succeeded" and t["status"]["attempts"] == 2 for t in listed)
    assert_one_pod_per_attempt(cluster, "retried", 3)
    after = finished(cluster, "retried")
    assert all(after[name] == status for name, status in before.items())


def test_a_crash_after_recording_pruned_before_deleting_the_pod(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    crashing = operator("--standalone", env={"TRADEOFF_CRASH_AT": "after-trial-pruned"})
    result = cluster.kubectl("apply", "-f", str(REPO / "examples" / "pruning-cluster.yaml"))
    assert result.returncode == 0, result.stderr
    assert crashing.wait_exit(60) == CRASH_EXIT
    before = finished(cluster, "pruning")
    pruned = [name for name, status in before.items() if status["state"] == "Pruned"]
    assert pruned
    operator("--standalone")
    wait_study(cluster, "pruning", timeout=60)
    assert_one_pod_per_attempt(cluster, "pruning", 3)
    after = finished(cluster, "pruning")
    assert all(after[name] == status for name, status in before.items())

    def pruned_pods_stopped() -> bool:  # the next reconcile deletes a pod left running
        left = {
            p["metadata"]["name"]: (p.get("status") or {}).get("phase")
            for p in pods(cluster, "pruning")
        }
        return all(left.get(f"{name}-a1") in (None, "Succeeded", "Failed") for name in pruned)

    cluster.wait_for(pruned_pods_stopped, timeout=20, message="the pruned trial's pod stops")


def test_sigkill_while_trials_run_then_restart(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    first = operator("--standalone")
    manifest = study_manifest(
        "killed", budget={"maxTrials": 5, "parallelism": 2}, env={"SLEEP": "1.0"}
    )
    apply(cluster, manifest)
    wait_trials(
        cluster,
        "killed",
        lambda ts: (
            any(state(t) == "Succeeded" for t in ts) and any(state(t) == "Running" for t in ts)
        ),
    )
    first.kill()
    before = finished(cluster, "killed")
    time.sleep(1.5)  # the running trials finish while no operator watches
    operator("--standalone")
    wait_study(cluster, "killed", timeout=40)
    assert_exactly(cluster, "killed", 5)
    after = finished(cluster, "killed")
    assert all(after[name] == status for name, status in before.items())


def test_the_recorded_algorithm_is_kept_across_restarts(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    first = operator("--standalone")
    manifest = study_manifest(
        "chosen",
        budget={"maxTrials": 4, "parallelism": 1},
        env={"SLEEP": "0.5"},
        algorithm={"name": "auto", "seed": 11},
    )
    apply(cluster, manifest)
    started = cluster.wait_for(
        lambda: (study(cluster, "chosen").get("status") or {}).get("algorithm"),
        timeout=30,
        message="status.algorithm is recorded",
    )
    expected = resolve_algorithm(validate_study(manifest).spec)
    assert (started["name"], started["reason"]) == (expected.name, expected.reason)
    first.kill()
    # As if the study had started where `auto` meant random (another image, say).
    recorded = {
        "name": "random",
        "reason": "auto: recorded elsewhere",
        "resolvedAt": "2026-01-01T00:00:00Z",
    }
    cluster.api.patch(
        cluster.resource("studies", GROUP), cluster.namespace, "chosen",
        "application/merge-patch+json", {"status": {"algorithm": recorded}}, subresource="status",
    )  # fmt: skip
    port = free_port()
    second = operator("--standalone", "--metrics-port", str(port))
    done = wait_study(cluster, "chosen", timeout=60)
    assert state(done) == "Succeeded" and done["status"]["algorithm"] == recorded
    asks = [
        line
        for line in fetch(f"http://127.0.0.1:{port}/metrics")[1].splitlines()
        if line.startswith("tradeoff_sampler_suggest_seconds_count")
    ]
    assert asks and all('algorithm="random"' in line for line in asks), asks
    second.stop()


def test_editing_max_trials_and_parallelism_takes_effect(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    manifest = study_manifest(
        "edited", budget={"maxTrials": 2, "parallelism": 1}, env={"SLEEP": "2.0"}
    )
    apply(cluster, manifest)
    # Started (a loaded machine's polling can miss the first trial running alone).
    wait_trials(cluster, "edited", lambda ts: bool(ts) and state(ts[0]) is not None)
    patch = '{"spec": {"budget": {"maxTrials": 5, "parallelism": 2}}}'
    cluster.kubectl("patch", "study", "edited", "--type=merge", "-p", patch, check=True)
    # Two trials in flight at once: only the new parallelism allows that. (Both Running at
    # once is a window shorter than a trial, which a loaded machine's polling can miss.)
    wait_trials(
        cluster,
        "edited",
        lambda ts: sum(state(t) in (None, "Pending", "Running") for t in ts) == 2,
        timeout=20,
    )
    done = wait_study(cluster, "edited", timeout=40)
    assert done["status"]["progress"] == "5/5"
    assert_exactly(cluster, "edited", 5)
    assert condition(done, "Succeeded")["observedGeneration"] == 2  # type: ignore[index]
    assert done["status"]["observedGeneration"] == 2


def test_two_replicas_only_one_acts(cluster: Cluster, operator: Callable[..., Operator]) -> None:
    replicas = [operator(), operator()]

    def peers() -> dict[str, object]:
        found = cluster.get("kopfpeerings", "tradeoff", group="kopf.dev")
        return dict((found or {}).get("status") or {})

    cluster.wait_for(lambda: len(peers()) == 2, timeout=40, message="both replicas peer")
    priorities = {p["priority"] for p in peers().values()}  # type: ignore[index]
    assert len(priorities) == 2  # their start times: the one that peered last acts
    # Both start paused (kopf's peering is mandatory); the higher priority resumes once it
    # sees its peer's record. The other stays paused, silently if it saw the higher one
    # at once, else after "Pausing operations": its informers and drivers with it.
    acting, idle = sorted(replicas, key=lambda r: r.priority(), reverse=True)
    cluster.wait_for(
        lambda: "Resuming operations" in acting.log, timeout=40, message="one replica resumes"
    )
    apply(cluster, study_manifest("peered", budget={"maxTrials": 3, "parallelism": 2}))
    wait_study(cluster, "peered", timeout=40)
    assert_exactly(cluster, "peered", 3)
    assert [r for r in replicas if "Created trial" in r.log] == [acting]
    assert "Created pod" not in idle.log and "Trial default/" not in idle.log


def test_all_namespaces_with_cluster_peering(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    cluster.kubectl("create", "namespace", "team-a", check=True)
    op = operator("--all-namespaces")
    manifest = study_manifest("elsewhere", budget={"maxTrials": 2, "parallelism": 2})
    manifest["metadata"]["namespace"] = "team-a"
    assert apply(cluster, manifest).returncode == 0
    done = cluster.wait_for(
        lambda: (
            state(cluster.get("studies", "elsewhere", "team-a", "tradeoff.dev") or {})
            == "Succeeded"
        ),
        timeout=40,
        message="the study in team-a succeeds",
    )
    assert done
    peering = cluster.get("clusterkopfpeerings", "tradeoff", group="kopf.dev")
    assert peering is not None and len(peering.get("status") or {}) == 1
    assert "Created trial elsewhere-0000 of study team-a/elsewhere" in op.log

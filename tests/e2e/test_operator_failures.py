"""Trials that fail, pods that vanish, manifests that are wrong: what the operator reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    REPO,
    Operator,
    apply,
    condition,
    events,
    pods,
    state,
    study_manifest,
    trials,
    wait_study,
    wait_trials,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_failing_trials_fail_the_study_after_max_failed_trials(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    # Two trials, so a crash's retry cannot race the silent trial to the limit: with more,
    # the grid gives the failed crash configuration again, a third trial may fail first and
    # the silent one is then cancelled, which the example allows but this test would not see.
    manifest = yaml.safe_load((REPO / "examples" / "failing.yaml").read_text())
    manifest["spec"]["budget"]["maxTrials"] = 2
    result = apply(cluster, manifest)
    assert result.returncode == 0, result.stderr
    done = wait_study(cluster, "failing", timeout=60)
    status = done["status"]
    assert status["state"] == "Failed"
    failed = condition(done, "Failed")
    assert failed is not None and failed["status"] == "True"
    assert failed["reason"] == "TooManyFailedTrials"
    assert failed["message"] == "2 trials failed (maxFailedTrials is 2)"
    assert condition(done, "Running")["status"] == "False"  # type: ignore[index]

    listed = trials(cluster, "failing")  # the grid's two configurations come first
    by_mode = {t["spec"]["parameters"]["mode"]: t["status"] for t in listed[:2]}
    crash, silent = by_mode["crash"], by_mode["silent"]
    assert crash["state"] == "Failed" and crash["reason"] == "Error"
    assert crash["message"] == "exited with code 3: ValueError: the simulated training diverged"
    assert silent["state"] == "Failed" and silent["reason"] == "MetricsMissing"
    assert "accuracy" in silent["message"]
    for status_ in (crash, silent):  # retries: 1 -> two attempts, a pod each
        assert status_["attempts"] == 2 and status_["podName"].endswith("-a2")
    assert {"failing-0000-a1", "failing-0000-a2", "failing-0001-a1", "failing-0001-a2"} <= {
        p["metadata"]["name"] for p in pods(cluster, "failing")
    }

    # The study failed with its two trials: nothing was started after them.
    assert len(listed) == 2, [t["metadata"]["name"] for t in listed]
    # The operator posts the Events after it has written the status: wait for them too.
    reasons = cluster.wait_for(
        lambda: (
            (found := [e["reason"] for e in events(cluster, "failing")])
            and "StudyFailed" in found
            and found
        ),
        timeout=10,
        message="a StudyFailed Event on failing",
    )
    assert "TrialFailed" in reasons


def test_evicted_deleted_and_overdue_pods_fail_their_trials(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    manifest = study_manifest(
        "lost",
        code="import time; print('working', flush=True); time.sleep(60)",
        budget={"maxTrials": 3, "parallelism": 2, "maxFailedTrials": 3},
        template={"activeDeadline": "4s"},
    )
    apply(cluster, manifest)
    running = wait_trials(
        cluster, "lost", lambda ts: sum(state(t) == "Running" for t in ts) == 2, timeout=20
    )
    first, second = (t["status"]["podName"] for t in running[:2])
    assert cluster.kubelet is not None
    cluster.kubelet.evict(cluster.namespace, first)
    cluster.kubectl("delete", "pod", second, "--wait=false", check=True)
    done = wait_study(cluster, "lost", timeout=40)
    assert done["status"]["state"] == "Failed"
    assert condition(done, "Failed")["reason"] == "TooManyFailedTrials"  # type: ignore[index]
    reasons = [(t["status"]["state"], t["status"]["reason"]) for t in trials(cluster, "lost")]
    assert reasons == [
        ("Failed", "Evicted"),
        ("Failed", "PodLost"),
        ("Failed", "DeadlineExceeded"),
    ]


def test_lost_node_fails_running_trials_and_retries_them(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    manifest = study_manifest(
        "nodeloss",
        budget={"maxTrials": 1, "parallelism": 1},
        template={"retries": 1},
        env={"SLEEP": "3"},
    )
    apply(cluster, manifest)
    wait_trials(cluster, "nodeloss", lambda ts: bool(ts) and state(ts[0]) == "Running")
    assert cluster.kubelet is not None
    cluster.kubelet.lose_node()
    wait_trials(cluster, "nodeloss", lambda ts: ts[0]["status"].get("attempts") == 2)
    first = trials(cluster, "nodeloss")[0]["status"]
    assert first["state"] == "Pending" and "attempt 1 failed (PodLost" in first["message"]
    cluster.kubelet.restore_node()
    done = wait_study(cluster, "nodeloss", timeout=30)
    assert done["status"]["state"] == "Succeeded"
    only = trials(cluster, "nodeloss")[0]["status"]
    assert only["state"] == "Succeeded" and only["podName"] == "nodeloss-0000-a2"


def test_schema_errors_are_refused_by_kubectl_apply(cluster: Cluster) -> None:
    manifest = study_manifest("bad-schema", budget={"maxTrials": 0})
    manifest["spec"]["objectives"][0]["direction"] = "sideways"
    result = apply(cluster, manifest)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()  # kubectl: a headline, then a line per problem
    assert lines[0].strip() == 'The Study "bad-schema" is invalid:', lines
    assert lines[1].startswith("* spec.budget.maxTrials: Invalid value: 0:"), lines
    assert lines[2].startswith('* spec.objectives[0].direction: Unsupported value: "sideways"')
    assert len(lines) == 3
    assert cluster.get("studies", "bad-schema", group="tradeoff.dev") is None


def test_kubectl_reads_an_unquoted_y_as_tradeoff_validate_does(cluster: Cluster) -> None:
    """`name: y` is a boolean to kubectl (YAML 1.1 in full) and so to `tradeoff validate`;
    PyYAML alone would keep the string, and a manifest checked locally would then be
    refused by the API server."""
    bad = Path(__file__).parents[1] / "unit" / "manifests" / "bad" / "yaml-boolean-name.yaml"
    result = cluster.kubectl("apply", "-f", str(bad))
    assert result.returncode != 0
    assert 'spec.parameters[1].name: Invalid value: "boolean"' in result.stderr, result.stderr
    quoted = bad.parents[1] / "good" / "quoted-yaml-boolean-name.yaml"
    assert cluster.kubectl("apply", "-f", str(quoted)).returncode == 0


def test_semantic_errors_fail_the_study_with_valid_false(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    manifest = study_manifest(
        "bad-when",
        code="print('accuracy=0.5')",
        parameters=[
            {"name": "model", "type": "categorical", "values": ["a", "b"]},
            {"name": "C", "type": "float", "low": 0.1, "high": 1.0, "when": {"modle": ["a"]}},
        ],
    )
    result = apply(cluster, manifest)
    assert result.returncode == 0, result.stderr  # the schema cannot see this one
    done = wait_study(cluster, "bad-when", timeout=20)
    valid = condition(done, "Valid")
    assert valid is not None and valid["status"] == "False" and valid["reason"] == "InvalidSpec"
    assert "\n" not in valid["message"] and "modle" in valid["message"]
    assert valid["message"].startswith("spec.parameters[1].when")
    assert done["status"]["state"] == "Failed" and not trials(cluster, "bad-when")
    table = cluster.kubectl("get", "study", "bad-when", check=True).stdout
    assert "Failed" in table
    # The search space is fixed once the Study exists: the API server refuses the edit.
    manifest["spec"]["parameters"][1]["when"] = {"model": ["a"]}
    refused = apply(cluster, yaml.safe_dump(manifest))
    assert refused.returncode != 0
    assert "spec.parameters: Invalid value" in refused.stderr
    assert "create a new Study instead" in refused.stderr
    # A mistake in a field that may change is fixed in place, and the study revives: the
    # controller is level-based.
    typo = study_manifest("bad-goal", code="print('accuracy=0.5')", goal={"acurracy": 0.4})
    assert apply(cluster, typo).returncode == 0
    done = wait_study(cluster, "bad-goal", timeout=20)
    assert condition(done, "Valid")["message"].startswith("spec.goal.acurracy")  # type: ignore[index]
    typo["spec"]["goal"] = {"accuracy": 0.4}
    assert apply(cluster, typo).returncode == 0
    fixed = wait_study(cluster, "bad-goal", states=("Succeeded",), timeout=30)
    assert condition(fixed, "Valid")["status"] == "True"  # type: ignore[index]
    assert condition(fixed, "Valid")["observedGeneration"] == 2  # type: ignore[index]

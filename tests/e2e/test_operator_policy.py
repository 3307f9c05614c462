"""The trial policy, enforced by the real operator against the API emulator.

A Study whose trial template asks for privilege ends `Valid=False` with one line per
offending field and gets no Trial and no Pod; the same Study runs where the admin chose
a policy that allows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    Operator,
    apply,
    condition,
    events,
    pods,
    settle,
    study_manifest,
    trials,
    wait_study,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

P = "spec.trialTemplate.pod"


def privileged_study(name: str) -> dict[str, Any]:
    manifest = study_manifest(name, budget={"maxTrials": 2, "parallelism": 2})
    pod = manifest["spec"]["trialTemplate"]["pod"]
    pod["hostPID"] = True
    pod["serviceAccountName"] = "cluster-admin"
    pod["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
    pod["containers"][0]["securityContext"] = {
        "privileged": True,
        "capabilities": {"add": ["SYS_ADMIN"]},
    }
    return manifest


def test_a_privileged_study_ends_valid_false_and_no_pod_is_created(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    op = operator()  # the default policy: restricted, service account "default"
    result = apply(cluster, privileged_study("greedy"))
    assert result.returncode == 0, result.stderr  # the CRD schema cannot see this
    done = wait_study(cluster, "greedy", states=("Failed",), timeout=30)
    valid = condition(done, "Valid")
    assert valid is not None and (valid["status"], valid["reason"]) == ("False", "InvalidSpec")
    assert valid["message"].splitlines() == [
        f"{P}.hostPID: not allowed by the trial policy (restricted)",
        f"{P}.volumes[0].hostPath: not allowed by the trial policy (restricted)",
        f"{P}.containers[0].securityContext.privileged: not allowed by the trial policy "
        "(restricted)",
        f"{P}.containers[0].securityContext.capabilities.add[0]: 'SYS_ADMIN' not allowed by "
        "the trial policy (restricted); allowed: NET_BIND_SERVICE",
        f"{P}.serviceAccountName: 'cluster-admin' not allowed by the trial policy "
        "(service accounts: default)",
    ]
    # The operator posts the Event after it has written the status: wait for it too.
    warned = cluster.wait_for(
        lambda: [e for e in events(cluster, "greedy") if e.get("reason") == "InvalidSpec"],
        timeout=10,
        message="an InvalidSpec Event on greedy",
    )
    assert warned[0]["type"] == "Warning"
    assert warned[0]["message"] == valid["message"]
    settle(3)  # several reconciles later: still nothing created
    assert trials(cluster, "greedy") == [] and pods(cluster, "greedy") == []
    assert cluster.list("pods", cluster.namespace) == []
    assert "Trial policy: restricted, service accounts: default" in op.log
    # Asking for less revives it, with secure defaults filled in.
    tame = privileged_study("greedy")
    pod = tame["spec"]["trialTemplate"]["pod"]
    for key in ("hostPID", "serviceAccountName", "volumes"):
        del pod[key]
    pod["containers"][0]["securityContext"] = {"capabilities": {"add": ["NET_BIND_SERVICE"]}}
    assert apply(cluster, yaml.safe_dump(tame)).returncode == 0
    fixed = wait_study(cluster, "greedy", states=("Succeeded",), timeout=45)
    assert condition(fixed, "Valid")["status"] == "True"  # type: ignore[index]
    for p in pods(cluster, "greedy"):
        sc = p["spec"]["containers"][0]["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}
        assert p["spec"]["securityContext"]["runAsNonRoot"] is True


def test_the_admins_policy_decides_what_runs(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator("--trial-policy", "privileged", "--trial-service-account", "cluster-admin")
    assert apply(cluster, privileged_study("allowed")).returncode == 0
    done = wait_study(cluster, "allowed", states=("Succeeded",), timeout=45)
    assert condition(done, "Valid")["status"] == "True"  # type: ignore[index]
    created = pods(cluster, "allowed")
    assert len(created) == 2
    for p in created:
        assert p["spec"]["hostPID"] is True and p["spec"]["serviceAccountName"] == "cluster-admin"
        sc = p["spec"]["containers"][0]["securityContext"]
        assert sc["privileged"] is True and "allowPrivilegeEscalation" not in sc

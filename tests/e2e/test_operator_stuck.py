"""Pods that never start: configuration errors, image pulls, the scheduler, quotas.

The local kubelet runs every pod it can, so these pods get a nodeSelector no node
matches (they stay Pending, Unschedulable) and the test writes what a real kubelet
would report into their status through the emulator's store.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.cluster.harness import Cluster
from tests.cluster.patch import MERGE
from tests.e2e.helpers import Operator, apply, pods, state, study_manifest, trials, wait_study

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
ROOT = "container has runAsNonRoot and image will run as root (pod: default/stuck-0000-a1)"


def unplaceable(name: str) -> dict[str, Any]:
    manifest = study_manifest(name, budget={"maxTrials": 1, "parallelism": 1, "maxFailedTrials": 1})
    manifest["spec"]["trialTemplate"]["pod"]["nodeSelector"] = {"disktype": "none-has-it"}
    return manifest


def trial_status(cluster: Cluster, name: str) -> dict[str, Any]:
    found = trials(cluster, name)
    return dict(found[0].get("status") or {}) if found else {}


def wait_message(cluster: Cluster, name: str, text: str, timeout: float = 45) -> dict[str, Any]:
    def check() -> Any:
        status = trial_status(cluster, name)
        return status if text in (status.get("message") or "") else None

    found: dict[str, Any] = cluster.wait_for(check, timeout=timeout, message=f"{text!r} shown")
    return found


def set_waiting(cluster: Cluster, pod: str, reason: str, message: str) -> None:
    waiting = {"reason": reason, "message": message}
    status = {
        "containerStatuses": [{"name": "trial", "ready": False, "state": {"waiting": waiting}}]
    }
    cluster.api.patch(
        cluster.resource("pods"), cluster.namespace, pod, MERGE, {"status": status},
        subresource="status",
    )  # fmt: skip


def test_unschedulable_then_a_configuration_error_fails_at_once(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    apply(cluster, unplaceable("stuck"))
    status = wait_message(cluster, "stuck", "didn't match Pod's node affinity/selector")
    assert (status["state"], status["reason"]) == ("Pending", "Unschedulable")
    described = cluster.kubectl("describe", "trial", "stuck-0000", check=True).stdout
    assert "didn't match Pod's node affinity/selector" in described

    set_waiting(cluster, "stuck-0000-a1", "CreateContainerConfigError", ROOT)
    done = wait_study(cluster, "stuck", timeout=20)
    status = trial_status(cluster, "stuck")
    assert (status["state"], status["reason"]) == ("Failed", "CreateContainerConfigError")
    assert ROOT in status["message"]
    assert "non-root user" in status["message"] and "securityContext" in status["message"]
    assert done["status"]["state"] == "Failed"
    cluster.wait_for(lambda: not pods(cluster, "stuck"), timeout=10, message="stuck pod deleted")


def test_an_image_that_cannot_be_pulled_fails_after_the_pending_timeout(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator(env={"TRADEOFF_PENDING_TIMEOUT": "5"})
    apply(cluster, unplaceable("pull"))
    wait_message(cluster, "pull", "didn't match")
    started = time.monotonic()
    set_waiting(cluster, "pull-0000-a1", "ImagePullBackOff", 'Back-off pulling image "nope:1"')
    status = wait_message(cluster, "pull", "Back-off pulling image")
    assert (status["state"], status["reason"]) == ("Pending", "ImagePullBackOff")
    wait_study(cluster, "pull", timeout=20)
    status = trial_status(cluster, "pull")
    assert (status["state"], status["reason"]) == ("Failed", "ImagePullBackOff")
    assert "still failing after 5s" in status["message"]
    assert time.monotonic() - started < 15
    assert state(trials(cluster, "pull")[0]) == "Failed"

"""Artifacts in a cluster: the claim the chart provides, mounted per attempt, recorded."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, pods, trials, wait_study
from tests.e2e.test_operator_study import quickstart

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

CLAIM = "tradeoff-artifacts"


def test_trials_save_artifacts_on_the_claim_each_in_its_own_folder(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    volume = tmp_path / "claim"  # the test double's stand-in for the claim's volume
    volume.mkdir()
    assert cluster.kubelet is not None
    cluster.kubelet.claims[CLAIM] = volume
    operator(env={"TRADEOFF_ARTIFACTS_CLAIM": CLAIM})
    assert apply(cluster, quickstart(max_trials=2)).returncode == 0
    done = wait_study(cluster, "quickstart", timeout=90)
    assert done["status"]["state"] == "Succeeded", done["status"]

    for trial in trials(cluster, "quickstart"):
        name = trial["metadata"]["name"]
        (saved,) = trial["status"]["artifacts"]
        assert saved["name"] == "predictions.csv"
        assert saved["path"] == f"quickstart/{name}/a1/predictions.csv"
        content = (volume / saved["path"]).read_bytes()
        assert saved["size"] == len(content) > 0
        assert saved["sha256"] == hashlib.sha256(content).hexdigest()
    (pod, *_) = pods(cluster, "quickstart")
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert {"name": CLAIM, "mountPath": "/tradeoff/artifacts"}.items() <= mounts[-1].items()
    assert mounts[-1]["subPath"].startswith("quickstart/quickstart-")
    claims = [v for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [{"name": CLAIM, "persistentVolumeClaim": {"claimName": CLAIM}}]


def test_a_template_that_mounts_the_claim_itself_is_refused(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    assert cluster.kubelet is not None
    cluster.kubelet.claims[CLAIM] = tmp_path
    operator(env={"TRADEOFF_ARTIFACTS_CLAIM": CLAIM})
    manifest = quickstart(max_trials=1)
    pod = manifest["spec"]["trialTemplate"]["pod"]  # type: ignore[index]
    pod["volumes"] = [{"name": "all", "persistentVolumeClaim": {"claimName": CLAIM}}]
    pod["containers"][0]["volumeMounts"] = [{"name": "all", "mountPath": "/everything"}]
    assert apply(cluster, manifest).returncode == 0
    done = wait_study(cluster, "quickstart", timeout=60)
    (trial,) = trials(cluster, "quickstart")
    assert trial["status"]["state"] == "Failed", trial["status"]
    assert (
        "the artifact claim 'tradeoff-artifacts' is the operator's to mount"
        in (trial["status"]["message"])
    )
    assert pods(cluster, "quickstart") == []  # nothing was created
    assert done["status"]["state"] == "Failed"

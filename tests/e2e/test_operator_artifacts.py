"""Artifacts in a cluster: the claim the chart provides, mounted per attempt, recorded."""

from __future__ import annotations

import csv
import hashlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
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
    pod = manifest["spec"]["trialTemplate"]["pod"]
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


def test_spec_ensemble_runs_an_ensemble_pod_over_the_claim(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    assert cluster.kubelet is not None
    cluster.kubelet.claims[CLAIM] = tmp_path
    operator(env={"TRADEOFF_ARTIFACTS_CLAIM": CLAIM})
    manifest = quickstart(max_trials=3)
    manifest["spec"]["ensemble"] = {"size": 5, "from": {"top": 3}}
    assert apply(cluster, manifest).returncode == 0
    ensemble = wait_for_trial(cluster, "quickstart-ensemble", timeout=90)
    status = ensemble["status"]
    assert status["state"] == "Succeeded", status
    assert ensemble["spec"]["kind"] == "Ensemble" and ensemble["spec"]["number"] == 3
    members = {m["trial"]: m["weight"] for m in status["ensemble"]["members"]}
    assert members and set(members) <= set(ensemble["spec"]["ensemble"]["candidates"])
    # The metrics match a recomputation from the members' files on the claim.
    by_name = {t["metadata"]["name"]: t for t in trials(cluster, "quickstart")}
    paths = {name: by_name[name]["status"]["artifacts"][0]["path"] for name in members}
    assert all(len(by_name[name]["status"]["artifacts"]) == 1 for name in members)
    accuracy = mixed_accuracy(members, lambda name: (tmp_path / paths[name]).read_text())
    assert status["metrics"]["accuracy"] == pytest.approx(accuracy)
    cost = sum(by_name[m]["status"]["economics"]["costUSD"] for m in members)
    assert status["economics"]["costUSD"] == pytest.approx(cost)
    # Its pod ran the operator's own command over the study's folder, read-only.
    (pod,) = [p for p in pods(cluster, "quickstart") if p["metadata"]["name"].endswith("-a1")
              and "ensemble" in p["metadata"]["name"]]  # fmt: skip
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "tradeoff.kube.ensemble_pod"]
    assert container["volumeMounts"][0]["subPath"] == "quickstart"
    assert container["volumeMounts"][0]["readOnly"] is True
    # The study's summary counts it once it ended.
    done = wait_study(cluster, "quickstart", timeout=30)
    assert done["status"]["state"] == "Succeeded"
    deadline = time.monotonic() + 30
    while "ensemble" not in done["status"] and time.monotonic() < deadline:
        time.sleep(0.5)
        done = wait_study(cluster, "quickstart", timeout=30)
    assert done["status"]["ensemble"] == {
        "trial": "quickstart-ensemble",
        "state": "Succeeded",
        "reason": "Ensembled",
    }
    assert done["status"]["progress"] == "3/3" and done["status"]["trials"]["succeeded"] == 3
    front = {p["trial"]: p.get("kind") for p in done["status"]["paretoFront"]}
    assert front.get("quickstart-ensemble", "Ensemble") == "Ensemble"


def wait_for_trial(cluster: Cluster, name: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = cluster.get("trials", name, group="tradeoff.dev")
        if found and (found.get("status") or {}).get("state") in ("Succeeded", "Failed"):
            return found
        time.sleep(0.5)
    raise AssertionError(f"trial {name} did not finish in {timeout} s")


def test_without_an_artifact_claim_the_ensemble_trial_fails_saying_why(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    manifest = quickstart(max_trials=2)
    manifest["spec"]["ensemble"] = {"size": 3}
    assert apply(cluster, manifest).returncode == 0
    status = wait_for_trial(cluster, "quickstart-ensemble", timeout=90)["status"]
    assert status["state"] == "Failed" and status["reason"] == "NoArtifactStore", status
    assert "artifacts.persistentVolumeClaim" in status["message"]
    assert wait_study(cluster, "quickstart", timeout=30)["status"]["state"] == "Succeeded"


def mixed_accuracy(members: dict[str, float], predictions: Callable[[str], str]) -> float:
    """The accuracy of the members' held-out predictions mixed by their weights;
    `predictions(member)` is the text of the CSV the member saved."""
    mixed, truth, classes = None, [], []
    for name, weight in members.items():
        rows = list(csv.reader(io.StringIO(predictions(name))))
        truth = [r[1] for r in rows[1:]]
        proba = np.array([[float(v) for v in r[3:]] for r in rows[1:]])
        classes = [c.removeprefix("proba_") for c in rows[0][3:]]
        mixed = weight * proba if mixed is None else mixed + weight * proba
    assert mixed is not None
    predicted = [classes[i] for i in mixed.argmax(axis=1)]
    return float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)]))

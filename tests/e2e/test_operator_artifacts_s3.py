"""Artifacts in a cluster, in an S3-compatible bucket (moto's server on loopback is the S3
double): each attempt's folder, the keys by Secret reference, the Trial's records, the
Ensemble trial reading its members' predictions from the bucket, and a missing Secret."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, pods, trials, wait_study
from tests.e2e.test_operator_artifacts import mixed_accuracy, wait_for_trial
from tests.e2e.test_operator_study import quickstart
from tests.s3_double import FAKE_KEYS, REGION, S3Double, bucket, s3_server

__all__ = ["bucket", "s3_server"]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

SECRET = "artifact-keys"


def bucket_settings(s3: S3Double, secret: str = SECRET) -> dict[str, str]:
    return {
        "TRADEOFF_ARTIFACTS_S3_BUCKET": s3.name,
        "TRADEOFF_ARTIFACTS_S3_PREFIX": "runs",
        "TRADEOFF_ARTIFACTS_S3_ENDPOINT": s3.endpoint,
        "TRADEOFF_ARTIFACTS_S3_REGION": REGION,
        "TRADEOFF_ARTIFACTS_S3_SECRET": secret,
    }


def keys_secret(namespace: str) -> dict[str, object]:
    data = {k: base64.b64encode(v.encode()).decode() for k, v in FAKE_KEYS.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": SECRET, "namespace": namespace},
        "data": data,
    }


def test_trials_upload_to_their_folders_and_the_ensemble_reads_them_back(
    cluster: Cluster, operator: Callable[..., Operator], bucket: S3Double
) -> None:
    ns = cluster.namespace
    cluster.apply(keys_secret(ns))
    operator(env=bucket_settings(bucket))
    manifest = quickstart(max_trials=3)
    manifest["spec"]["ensemble"] = {"size": 5, "from": {"top": 3}}
    assert apply(cluster, manifest).returncode == 0
    ensemble = wait_for_trial(cluster, "quickstart-ensemble", timeout=120)
    status = ensemble["status"]
    assert status["state"] == "Succeeded", status

    # Each search trial's predictions are an object in its attempt's folder, as recorded.
    by_name = {t["metadata"]["name"]: t for t in trials(cluster, "quickstart")}
    searched = [t for n, t in by_name.items() if n != "quickstart-ensemble"]
    assert len(searched) == 3
    for trial in searched:
        name = trial["metadata"]["name"]
        (saved,) = trial["status"]["artifacts"]
        key = f"runs/{ns}/quickstart/{name}/a1/predictions.csv"
        assert saved["name"] == "predictions.csv"
        assert saved["path"] == f"s3://{bucket.name}/{key}"
        content = bucket.read(key)
        assert saved["size"] == len(content) > 0
        assert saved["sha256"] == hashlib.sha256(content).hexdigest()
    assert bucket.keys() == sorted(
        f"runs/{ns}/quickstart/{t['metadata']['name']}/a1/predictions.csv" for t in searched
    )

    # The Ensemble trial's metrics match a recomputation from the members' objects.
    members = {m["trial"]: m["weight"] for m in status["ensemble"]["members"]}
    assert members and set(members) <= set(by_name)
    assert all(len(by_name[name]["status"]["artifacts"]) == 1 for name in members)
    keys = {
        name: by_name[name]["status"]["artifacts"][0]["path"].removeprefix(f"s3://{bucket.name}/")
        for name in members
    }
    accuracy = mixed_accuracy(members, lambda name: bucket.read(keys[name]).decode())
    assert status["metrics"]["accuracy"] == pytest.approx(accuracy)

    # Pods hold the keys by reference only; no key appears in any Pod or Trial.
    made = pods(cluster, "quickstart")
    assert made
    for pod in made:
        env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
        ref = env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": SECRET, "key": "AWS_SECRET_ACCESS_KEY"}
        assert env["TRADEOFF_ARTIFACTS_S3_URL"]["value"].startswith(
            f"s3://{bucket.name}/runs/{ns}/quickstart/"
        )
    everything = json.dumps([*made, *by_name.values()])
    assert all(value not in everything for value in FAKE_KEYS.values())


def test_without_the_keys_secret_the_trial_fails_saying_which_secret(
    cluster: Cluster, operator: Callable[..., Operator], bucket: S3Double
) -> None:
    operator(env=bucket_settings(bucket, secret="missing-keys"))
    assert apply(cluster, quickstart(max_trials=1)).returncode == 0
    done = wait_study(cluster, "quickstart", timeout=90)
    (trial,) = trials(cluster, "quickstart")
    status = trial["status"]
    assert status["state"] == "Failed", status
    assert status["reason"] == "CreateContainerConfigError"
    assert 'CreateContainerConfigError: secret "missing-keys" not found' in status["message"]
    assert done["status"]["state"] == "Failed"
    assert bucket.keys() == []

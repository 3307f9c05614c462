"""Artifacts in a bucket, operator side: the setting, each pod's folder and credentials,
the policy check, the recorded URLs, and the Ensemble pod reading from the bucket (moto's
server on loopback is the S3 double)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from tests.s3_double import S3Double, bucket, s3_server
from tests.unit.test_ensemble_pod import PROBA, study_of
from tests.unit.test_ensemble_trial import ENDED, csv_of, searched, spec_with
from tests.unit.test_pods import make_study, make_trial
from tradeoff.api.policy import PolicyViolation
from tradeoff.api.trial import Artifact, Trial
from tradeoff.kube import attempts, ensemble_pod
from tradeoff.kube.artifact_storage import ArtifactBucket
from tradeoff.kube.ensembles import build_ensemble_pod
from tradeoff.kube.pods import build_pod
from tradeoff.kube.settings import SettingsError, settings_from
from tradeoff.trial_output import TrialOutput

__all__ = ["bucket", "s3_server"]

PARAMS = {"model": "knn", "cpu": "1"}
STORE = ArtifactBucket("ml-runs", "runs/", "http://minio:9000", "eu-north-1", "keys")


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env") or []}


def test_each_attempt_gets_its_own_folder_and_the_keys_by_reference_only() -> None:
    pod = build_pod(make_study(), make_trial(PARAMS), "uid", 3, artifacts=STORE)
    primary = pod["spec"]["containers"][0]
    study = pod["metadata"]["labels"]["tradeoff.dev/study"]
    trial = pod["metadata"]["ownerReferences"][0]["name"]
    namespace = pod["metadata"]["namespace"] or "default"
    env = env_of(primary)
    assert env["TRADEOFF_ARTIFACTS_S3_URL"] == f"s3://ml-runs/runs/{namespace}/{study}/{trial}/a3/"
    assert env["TRADEOFF_ARTIFACTS_S3_ENDPOINT"] == "http://minio:9000"
    assert env["TRADEOFF_ARTIFACTS_S3_REGION"] == "eu-north-1"
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert env[key] == {"secretKeyRef": {"name": "keys", "key": key}}
    assert "TRADEOFF_ARTIFACTS" not in env and not pod["spec"].get("volumes")
    # A retry writes elsewhere; without a Secret no keys are passed (the pod's identity).
    again = build_pod(make_study(), make_trial(PARAMS), "uid", 4, artifacts=STORE)
    assert env_of(again["spec"]["containers"][0])["TRADEOFF_ARTIFACTS_S3_URL"].endswith("/a4/")
    bare = ArtifactBucket("ml-runs")
    plain = env_of(build_pod(make_study(), make_trial(PARAMS), "u", 1, artifacts=bare)["spec"]
                   ["containers"][0])  # fmt: skip
    assert plain["TRADEOFF_ARTIFACTS_S3_URL"].startswith(f"s3://ml-runs/{namespace}/")
    assert not {"AWS_ACCESS_KEY_ID", "TRADEOFF_ARTIFACTS_S3_ENDPOINT"} & set(plain)


@pytest.mark.parametrize(
    "name",
    [
        "TRADEOFF_ARTIFACTS_S3_URL",
        "TRADEOFF_ARTIFACTS_S3_ENDPOINT",
        "TRADEOFF_ARTIFACTS_S3_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ],
)
def test_a_template_cannot_set_what_the_operator_sets_for_the_bucket(name: str) -> None:
    study = make_study()
    container = study.spec.trial_template.pod["containers"][0]
    container["env"] = [*(container.get("env") or []), {"name": name, "value": "mine"}]
    at = len(container["env"]) - 1
    with pytest.raises(PolicyViolation) as refused:
        build_pod(study, make_trial(PARAMS), "uid", 1, artifacts=STORE)
    assert f"spec.containers[0].env[{at}]: {name} is the operator's to set" in str(refused.value)
    build_pod(study, make_trial(PARAMS), "uid", 1)  # without a bucket, the template's own


def test_recorded_urls_are_the_ones_the_operator_gave_the_pod() -> None:
    pod = build_pod(make_study(), make_trial(PARAMS), "uid", 1, artifacts=STORE)
    name = pod["spec"]["containers"][0]["name"]
    folder = env_of(pod["spec"]["containers"][0])["TRADEOFF_ARTIFACTS_S3_URL"]
    output = TrialOutput()
    line = {"name": "p.csv", "size": 3, "sha256": "b" * 64, "url": "s3://elsewhere/x/p.csv"}
    output.feed(f"TRADEOFF_ARTIFACT {json.dumps(line)}")
    assert output.problems == []
    (found,) = attempts.artifacts_of(pod, name, output)
    assert (found.name, found.path, found.size) == ("p.csv", f"{folder}p.csv", 3)


BUCKET = {"TRADEOFF_ARTIFACTS_S3_BUCKET": "ml-runs"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TRADEOFF_ARTIFACTS_S3_BUCKET": "Bad_Bucket"}, "TRADEOFF_ARTIFACTS_S3_BUCKET: 'Bad_"),
        (
            {**BUCKET, "TRADEOFF_ARTIFACTS_S3_PREFIX": "a/../b"},
            "TRADEOFF_ARTIFACTS_S3_PREFIX: 'a/../b/' is not a folder",
        ),
        (
            {**BUCKET, "TRADEOFF_ARTIFACTS_S3_ENDPOINT": "minio:9000"},
            "TRADEOFF_ARTIFACTS_S3_ENDPOINT: 'minio:9000' is not an http(s) URL",
        ),
        (
            {**BUCKET, "TRADEOFF_ARTIFACTS_S3_SECRET": "Keys!"},
            "TRADEOFF_ARTIFACTS_S3_SECRET: 'Keys!' is not a Secret name",
        ),
        (
            {**BUCKET, "TRADEOFF_ARTIFACTS_CLAIM": "store"},
            "TRADEOFF_ARTIFACTS_CLAIM and TRADEOFF_ARTIFACTS_S3_BUCKET exclude each other",
        ),
    ],
)
def test_bad_bucket_settings_are_one_line_naming_the_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as failed:
        settings_from(namespaces=["a"], env=env)
    assert str(failed.value).startswith(message) and "\n" not in str(failed.value)


def saved_in(records: list[Trial], s3: S3Double, root: str) -> None:
    """Each record saved predictions.csv in the bucket under `root` (as trial pods do)."""
    for record in records:
        content = csv_of(PROBA)
        key = f"runs/team/demo/{record.metadata.name}/a1/predictions.csv"
        s3.client.put_object(Bucket=s3.name, Key=key, Body=content)
        sha = hashlib.sha256(content).hexdigest()
        url = f"{root}{record.metadata.name}/a1/predictions.csv"
        record.status.artifacts = [
            Artifact(name="predictions.csv", path=url, size=len(content), sha256=sha)
        ]


def test_the_ensemble_pod_reads_members_predictions_from_the_bucket_checked(
    bucket: S3Double, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = spec_with({"size": 3, "from": {"top": 3}})
    records = searched(engine)
    store = ArtifactBucket(bucket.name, "runs/", bucket.endpoint, "us-east-1", "keys")
    saved_in(records, bucket, f"s3://{bucket.name}/runs/team/demo/")
    # A record pointing outside the study's folder is not passed on at all.
    made = engine.ensemble_due(records, ENDED, "team")
    assert made is not None and made.spec.ensemble is not None
    assert made.spec.ensemble.candidates == ["demo-0003", "demo-0002", "demo-0001"]
    (elsewhere,) = [r for r in records if r.metadata.name == "demo-0003"]
    elsewhere.status.artifacts[0].path = f"s3://{bucket.name}/runs/other/demo/x.csv"
    pod = build_ensemble_pod(study_of(engine), made, "u", 1, records, image="i", store=store)
    (container,) = pod["spec"]["containers"]
    env = env_of(container)
    assert env["TRADEOFF_ARTIFACTS_S3_URL"] == f"s3://{bucket.name}/runs/team/demo/"
    assert env["AWS_SECRET_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "keys", "key": "AWS_SECRET_ACCESS_KEY"}
    }
    assert not pod["spec"].get("volumes") and "volumeMounts" not in container
    request = json.loads(env["TRADEOFF_ENSEMBLE"])
    assert set(request["files"]) == {"demo-0001", "demo-0002"}
    assert request["files"]["demo-0002"]["path"] == "demo-0002/a1/predictions.csv"
    # One member's object changed after it was saved: skipped, named, the rest used.
    bucket.client.put_object(
        Bucket=bucket.name, Key="runs/team/demo/demo-0001/a1/predictions.csv", Body=b"x,y\n"
    )
    for name, value in {**bucket.env, "TRADEOFF_ENSEMBLE": env["TRADEOFF_ENSEMBLE"]}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TRADEOFF_ARTIFACTS_S3_URL", env["TRADEOFF_ARTIFACTS_S3_URL"])
    monkeypatch.delenv("TRADEOFF_ARTIFACTS", raising=False)
    monkeypatch.delenv("TRADEOFF_TERMINATION_LOG", raising=False)
    assert ensemble_pod.main() == 0
    out, err = capsys.readouterr()
    assert (
        f"skipped demo-0001: s3://{bucket.name}/runs/team/demo/demo-0001/a1/predictions.csv"
        " changed since the trial saved it" in err
    )
    assert "demo-0003: saved no predictions.csv" in err
    output = TrialOutput()
    output.feed_text(out)
    assert output.final and output.problems == []

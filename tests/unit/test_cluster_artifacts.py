"""Artifacts in a cluster: the claim's mount in trial pods, the setting, the output lines."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.unit.test_pods import make_study, make_trial
from tradeoff.api.policy import PolicyViolation
from tradeoff.kube import attempts
from tradeoff.kube.pods import ARTIFACTS_PATH, build_pod
from tradeoff.kube.settings import SettingsError, settings_from
from tradeoff.trial_output import MAX_ARTIFACTS, TrialOutput
from trial_runner import save_artifact

PARAMS = {"model": "knn", "cpu": "1"}


def test_the_claim_is_mounted_at_a_fixed_path_in_the_attempts_own_folder() -> None:
    pod = build_pod(make_study(), make_trial(PARAMS), "uid", 2, artifacts="store")
    spec = pod["spec"]
    assert {"name": "tradeoff-artifacts", "persistentVolumeClaim": {"claimName": "store"}} in (
        spec["volumes"]
    )
    primary = spec["containers"][0]
    trial = pod["metadata"]["ownerReferences"][0]["name"]
    study = pod["metadata"]["labels"]["tradeoff.dev/study"]
    assert primary["volumeMounts"][-1] == {
        "name": "tradeoff-artifacts",
        "mountPath": ARTIFACTS_PATH,
        "subPath": f"{study}/{trial}/a2",
    }
    assert {"name": "TRADEOFF_ARTIFACTS", "value": ARTIFACTS_PATH} in primary["env"]
    # Without the setting, no volume and no folder.
    plain = build_pod(make_study(), make_trial(PARAMS), "uid", 2)["spec"]
    assert "volumes" not in plain or not plain["volumes"]
    assert all(e["name"] != "TRADEOFF_ARTIFACTS" for e in plain["containers"][0].get("env", []))


@pytest.mark.parametrize(
    ("volumes", "mount", "said"),
    [
        ([{"name": "x", "persistentVolumeClaim": {"claimName": "store"}}], None, "volumes[0]"),
        ([{"name": "tradeoff-artifacts", "emptyDir": {}}], None, "volumes[0]"),
        ([{"name": "x", "emptyDir": {}}], "/tradeoff/artifacts/other", "volumeMounts[0]"),
    ],
)
def test_a_template_cannot_reach_the_claim_itself(
    volumes: list[dict[str, object]], mount: str | None, said: str
) -> None:
    study = make_study()
    pod = study.spec.trial_template.pod
    pod["volumes"] = volumes
    if mount is not None:
        pod["containers"][0]["volumeMounts"] = [{"name": "x", "mountPath": mount}]
    with pytest.raises(PolicyViolation) as refused:
        build_pod(study, make_trial(PARAMS), "uid", 1, artifacts="store")
    assert said in str(refused.value)
    build_pod(study, make_trial(PARAMS), "uid", 1)  # without a claim, nothing to protect


def test_the_claim_setting_names_a_claim() -> None:
    assert settings_from(namespaces=["a"], env={}).artifacts_claim is None
    env = {"TRADEOFF_ARTIFACTS_CLAIM": "tradeoff-artifacts"}
    assert settings_from(namespaces=["a"], env=env).artifacts_claim == "tradeoff-artifacts"
    with pytest.raises(SettingsError, match=r"^TRADEOFF_ARTIFACTS_CLAIM: 'Bad_Name' is not"):
        settings_from(namespaces=["a"], env={"TRADEOFF_ARTIFACTS_CLAIM": "Bad_Name"})


def test_saved_artifacts_are_read_from_the_output_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEOFF_ARTIFACTS", str(tmp_path))
    save_artifact("model.bin", b"weights")
    source = tmp_path / "src.txt"
    source.write_text("x" * 3000000)
    save_artifact("big.txt", source)
    printed = capsys.readouterr().out
    output = TrialOutput()
    output.feed_text(printed)
    assert output.artifacts == {
        "model.bin": (7, hashlib.sha256(b"weights").hexdigest()),
        "big.txt": (3000000, hashlib.sha256(b"x" * 3000000).hexdigest()),
    }
    assert output.final == {} and output.problems == []
    bad = [
        'TRADEOFF_ARTIFACT {"name": "../x", "size": 1, "sha256": "' + "0" * 64 + '"}',
        'TRADEOFF_ARTIFACT {"name": "a", "size": -1, "sha256": "' + "0" * 64 + '"}',
        'TRADEOFF_ARTIFACT {"name": "a", "size": 1, "sha256": "nothex"}',
        "TRADEOFF_ARTIFACT not json",
    ]
    for line in bad:
        output.feed(line)
    assert len(output.problems) == 4 and len(output.artifacts) == 2
    for i in range(MAX_ARTIFACTS + 5):
        line = json.dumps({"name": f"f{i}", "size": i, "sha256": "a" * 64})
        output.feed(f"TRADEOFF_ARTIFACT {line}")
    assert len(output.artifacts) == MAX_ARTIFACTS
    assert output.problems[-1].endswith("more than 100 artifacts; 'f104' not recorded")


def test_recorded_paths_follow_the_pods_mount() -> None:
    pod = build_pod(make_study(), make_trial(PARAMS), "uid", 1, artifacts="store")
    output = TrialOutput()
    output.feed('TRADEOFF_ARTIFACT {"name": "p.csv", "size": 3, "sha256": "' + "b" * 64 + '"}')
    (found,) = attempts.artifacts_of(pod, pod["spec"]["containers"][0]["name"], output)
    sub = pod["spec"]["containers"][0]["volumeMounts"][-1]["subPath"]
    assert (found.name, found.path, found.size) == ("p.csv", f"{sub}/p.csv", 3)
    # A pod without the volume records nothing, whatever the trial printed.
    plain = build_pod(make_study(), make_trial(PARAMS), "uid", 1)
    assert attempts.artifacts_of(plain, plain["spec"]["containers"][0]["name"], output) == []

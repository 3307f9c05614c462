"""`tradeoff validate --policy LEVEL`: the operator's trial policy, checked before applying.

The lines are those the operator writes into the Study's `Valid` condition.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tradeoff.api.policy import TrialPolicy
from tradeoff.cli import main
from tradeoff.kube.reconcile import plan_study
from tradeoff.kube.status import get_condition

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.yaml"))
EXPECTED = [
    "spec.trialTemplate.pod.hostNetwork: not allowed by the trial policy (restricted)",
    "spec.trialTemplate.pod.volumes[0].hostPath: not allowed by the trial policy (restricted)",
    "spec.trialTemplate.pod.containers[0].securityContext.privileged: "
    "not allowed by the trial policy (restricted)",
    "spec.trialTemplate.pod.containers[0].securityContext.runAsUser: "
    "0 not allowed by the trial policy (restricted); allowed: a non-zero user id",
    "spec.trialTemplate.pod.serviceAccountName: "
    "'cluster-admin' not allowed by the trial policy (service accounts: default)",
]


def privileged_study() -> dict[str, Any]:
    with (REPO / "examples" / "quickstart.yaml").open() as f:
        study: dict[str, Any] = yaml.safe_load(f)
    pod = study["spec"]["trialTemplate"]["pod"]
    pod["hostNetwork"] = True
    pod["serviceAccountName"] = "cluster-admin"
    pod["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
    pod["containers"][0]["securityContext"] = {"privileged": True, "runAsUser": 0}
    return study


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(privileged_study()))
    return path


def test_validate_prints_the_operators_lines_and_exits_2(
    manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--policy", "restricted", str(manifest)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [f"{manifest}: {line}" for line in EXPECTED]
    # The very lines the operator writes into the Study's Valid condition.
    obj = {**privileged_study(), "metadata": {"name": "quickstart", "namespace": "ns"}}
    plan = plan_study(obj, [], datetime(2026, 1, 1, tzinfo=UTC), TrialPolicy())
    valid = get_condition(plan.status.conditions, "Valid")
    assert valid is not None and valid.message.splitlines() == EXPECTED


def test_levels_and_accounts_come_from_the_flags(
    manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--policy", "baseline", str(manifest)]) == 2
    err = capsys.readouterr().err
    assert "(baseline)" in err and "runAsUser" not in err  # runAsUser: 0 is baseline's
    assert main(["validate", "--policy", "privileged", str(manifest)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"{manifest}: {EXPECTED[-1]}"]
    args = ["validate", "--policy", "privileged", "--service-account", "cluster-admin"]
    assert main([*args, str(manifest)]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"{manifest}: Study quickstart is valid and meets the trial policy "
        "(privileged, service accounts: cluster-admin)\n"
    )


def test_without_policy_only_the_model_is_checked(
    manifest: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(manifest)]) == 0  # local mode does not enforce the policy
    assert capsys.readouterr().out == f"{manifest}: Study quickstart is valid\n"
    assert main(["validate", "--service-account", "x", str(manifest)]) == 2
    assert "--service-account needs --policy" in capsys.readouterr().err


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_meets_the_default_policy(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--policy", "restricted", "--workload-kind", "batch/v1/Job", str(path)]
    assert main(["validate", *args]) == 0
    assert "meets the trial policy (restricted" in capsys.readouterr().out


def test_a_workload_kind_must_be_allowed(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(REPO / "examples" / "job.yaml")
    assert main(["validate", "--policy", "restricted", path]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: spec.trialTemplate.workload.kind: Job (batch/v1) is not allowed by the trial "
        "policy (allowed: none); the cluster admin lists the kinds in the Helm value "
        "trialPolicy.workloads"
    ]
    assert main(["validate", "--workload-kind", "batch/v1/Job", path]) == 2
    assert "--workload-kind needs --policy" in capsys.readouterr().err
    assert main(["validate", "--policy", "baseline", "--workload-kind", "Job", path]) == 2
    assert "--workload-kind 'Job' is not API_VERSION/KIND" in capsys.readouterr().err


def test_a_bad_level_is_bad_input(manifest: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", "validate", "--policy", "lenient", str(manifest)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice: 'lenient'" in result.stderr and "Traceback" not in result.stderr

"""The Ensemble trial in a cluster: its pod as data, its program, and its report read back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.unit.test_ensemble_trial import ENDED, csv_of, searched, spec_with
from tradeoff.api.study import Study
from tradeoff.api.trial import Artifact, Trial
from tradeoff.engine.ensemble_selection import parse_predictions, select
from tradeoff.engine.ensembles import as_metrics, from_metrics
from tradeoff.kube import ensemble_pod
from tradeoff.kube.ensembles import build_ensemble_pod, ensemble_status
from tradeoff.trial_output import TrialOutput

PROBA = [[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3], [0.3, 0.7], [0.6, 0.4]]


def study_of(spec_engine: object) -> Study:
    engine = spec_engine
    return Study.model_validate(
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Study",
            "metadata": {"name": "demo", "namespace": "team", "uid": "s-uid"},
            "spec": engine.spec.wire(),  # type: ignore[attr-defined]
        }
    )


def with_predictions(records: list[Trial], root: Path) -> None:
    """Each record saved predictions.csv under root/demo/<trial>/a1 (as on the claim)."""
    for record in records:
        content = csv_of(PROBA)
        path = f"demo/{record.metadata.name}/a1/predictions.csv"
        (root / path).parent.mkdir(parents=True)
        (root / path).write_bytes(content)
        sha = hashlib.sha256(content).hexdigest()
        record.status.artifacts = [
            Artifact(name="predictions.csv", path=path, size=len(content), sha256=sha)
        ]


def test_the_pod_runs_the_operators_command_over_the_studys_folder_read_only(
    tmp_path: Path,
) -> None:
    engine = spec_with({"size": 3, "from": {"top": 2}})
    records = searched(engine)
    with_predictions(records, tmp_path)
    made = engine.ensemble_due(records, ENDED, "team")
    assert made is not None
    pod = build_ensemble_pod(
        study_of(engine), made, "t-uid", 1, records, image="reg/tradeoff:1", store="store"
    )
    spec = pod["spec"]
    (container,) = spec["containers"]
    assert container["image"] == "reg/tradeoff:1"
    assert container["command"] == ["python", "-m", "tradeoff.kube.ensemble_pod"]
    assert container["volumeMounts"] == [
        {"name": "tradeoff-artifacts", "mountPath": "/tradeoff/artifacts", "subPath": "demo",
         "readOnly": True}
    ]  # fmt: skip
    assert spec["volumes"][0]["persistentVolumeClaim"] == {"claimName": "store", "readOnly": True}
    assert spec["automountServiceAccountToken"] is False
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    env = {e["name"]: e["value"] for e in container["env"]}
    request = json.loads(env["TRADEOFF_ENSEMBLE"])
    assert request["request"]["candidates"] == ["demo-0003", "demo-0002"]
    assert request["files"]["demo-0003"]["path"] == "demo-0003/a1/predictions.csv"
    assert pod["metadata"]["name"] == "demo-ensemble-a1"
    assert pod["metadata"]["ownerReferences"][0]["name"] == "demo-ensemble"


def test_the_program_reads_checked_files_and_reports_what_the_operator_reads_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = spec_with({"size": 3, "from": {"top": 3}})
    records = searched(engine)
    with_predictions(records, tmp_path)
    made = engine.ensemble_due(records, ENDED, "team")
    assert made is not None and made.spec.ensemble is not None
    pod = build_ensemble_pod(study_of(engine), made, "u", 1, records, image="i", store="c")
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    request = json.loads(env["TRADEOFF_ENSEMBLE"])
    # One candidate's file was changed after it was saved: skipped and named.
    changed = tmp_path / "demo" / "demo-0001" / "a1" / "predictions.csv"
    changed.write_bytes(changed.read_bytes().replace(b"0.9", b"0.1"))
    monkeypatch.setenv("TRADEOFF_ENSEMBLE", json.dumps(request))
    monkeypatch.setenv("TRADEOFF_ARTIFACTS", str(tmp_path / "demo"))
    monkeypatch.delenv("TRADEOFF_TERMINATION_LOG", raising=False)
    assert ensemble_pod.main() == 0
    out, err = capsys.readouterr()
    assert "skipped demo-0001: demo-0001/a1/predictions.csv changed since" in err
    output = TrialOutput()
    output.feed_text(out)
    expected = select(made.spec.ensemble, [
        parse_predictions(n, csv_of(PROBA)) for n in ("demo-0003", "demo-0002")])  # fmt: skip
    assert not isinstance(expected, str)
    assert output.final == pytest.approx(as_metrics(expected))
    status = ensemble_status(study_of(engine), made, output.final, records)
    assert not isinstance(status, str)
    assert (
        status.state == "Succeeded" and status.metrics["accuracy"] == expected.metrics["accuracy"]
    )
    assert status.ensemble is not None
    assert {m.trial: m.weight for m in status.ensemble.members} == expected.members

    monkeypatch.setenv("TRADEOFF_ENSEMBLE", "{not json")
    assert ensemble_pod.main() == 1
    assert capsys.readouterr().err.startswith("ensemble: bad request in $TRADEOFF_ENSEMBLE")


def test_a_report_naming_other_trials_or_missing_parts_is_refused() -> None:
    engine = spec_with({"size": 3, "from": {"top": 2}})
    made = engine.ensemble_due(searched(engine), ENDED)
    assert made is not None and made.spec.ensemble is not None
    request = made.spec.ensemble
    good = {"accuracy": 0.9, "ensemble.rows": 6.0, "ensemble.cross_fitted": 0.8,
            "ensemble.best_single": 0.7, "weight.demo-0003": 1.0}  # fmt: skip
    assert not isinstance(from_metrics(request, good), str)
    assert "no candidates: demo-0000" in str(from_metrics(request, {**good, "weight.demo-0000": 1}))
    assert "weights in (0, 1]" in str(from_metrics(request, {**good, "weight.demo-0003": 2.0}))
    partial = {k: v for k, v in good.items() if k != "ensemble.rows"}
    assert "did not report ensemble.rows" in str(from_metrics(request, partial))

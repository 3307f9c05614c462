"""`tradeoff import` end to end: a Katib Experiment over a Job, imported, runs as a Study."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from tests.cli import tradeoff
from tests.e2e.test_operator_workload_values import OPTIMIZATION_JOB
from tradeoff.local import FileStore

KATIB = Path(__file__).resolve().parents[1] / "unit" / "manifests" / "katib"


def test_an_imported_katib_experiment_runs_locally(tmp_path: Path) -> None:
    shutil.copy(KATIB / "random-job.yaml", tmp_path / "experiment.yaml")
    done = tradeoff("import", "experiment.yaml", "-o", "study.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "study.yaml: Study random written (6 notes)\n"

    done = tradeoff("run", "study.yaml", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: spec.trialTemplate.workload: only the primary container of the Job" in (
        done.stderr
    )
    assert "Study random Succeeded (MaxTrialsReached): all 4 trials ran" in done.stdout
    records = FileStore(tmp_path / ".tradeoff/random").load_trials()
    assert [r.status.state for r in records] == ["Succeeded"] * 4
    for r in records:
        # The renamed parameters reached the trial's command (the workload rejects bad values).
        p = r.spec.parameters
        assert set(p) == {"n_estimators", "max_depth", "scaler", "data_fraction"}
        assert p["n_estimators"] in range(10, 41, 5) and p["data_fraction"] in (0.5, 0.75, 1.0)
        assert r.status.metrics is not None
        assert 0.5 < r.status.metrics["accuracy"] <= 1.0
        assert "balanced_accuracy" in r.status.metrics  # Katib's additional metric, recorded
        # The built-in workload saved its held-out predictions; the record says where.
        [saved] = r.status.artifacts
        assert (saved.name, saved.path) == (
            "predictions.csv",
            f"artifacts/{r.metadata.name}/predictions.csv",
        )
        content = (tmp_path / ".tradeoff/random" / saved.path).read_bytes()
        assert (saved.size, saved.sha256) == (len(content), hashlib.sha256(content).hexdigest())
        rows = content.decode().splitlines()
        assert rows[0] == "index,y_true,y_pred," + ",".join(f"proba_{c}" for c in range(10))
        assert len(rows) == 1 + 450  # digits' held-out quarter
        correct = sum(row.split(",")[1] == row.split(",")[2] for row in rows[1:])
        assert correct / 450 == r.status.metrics["accuracy"]


def test_an_imported_optimization_job_runs_its_trainer_locally(tmp_path: Path) -> None:
    (tmp_path / "optimizationjob.yaml").write_text(yaml.safe_dump(OPTIMIZATION_JOB))
    done = tradeoff("import", "optimizationjob.yaml", "-o", "study.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    done = tradeoff("run", "study.yaml", "--no-progress", "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "tradeoff run: warning: spec.trialTemplate.workload: only the primary container of the"
        " TrainJob runs here (its other pods and replicas run in a cluster)"
    ]
    records = FileStore(tmp_path / ".tradeoff/tuning").load_trials()
    assert [r.status.state for r in records] == ["Succeeded"] * 2
    for r in records:  # the trainer read its parameters as the OptimizationJob passes them
        p = r.spec.parameters
        expected = abs(p["learning_rate"] - 0.01) + int(p["batch_size"])
        assert r.status.metrics == {"val_loss": pytest.approx(expected)}

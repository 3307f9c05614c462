"""Artifacts in local mode, end to end: saved by the trial, found on disk, on the record."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.cli import tradeoff
from tradeoff.local import FileStore

# The first attempt saves first.txt and fails; the retry saves model.bin and succeeds.
MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: saves}
spec:
  objectives: [{name: score, direction: maximize}]
  parameters: [{name: x, type: float, low: 0.0, high: 1.0}]
  algorithm: {name: random, seed: 1}
  budget: {maxTrials: 1}
  trialTemplate:
    retries: 1
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - |
              import pathlib, sys, trial_runner
              marker = pathlib.Path(sys.argv[1])
              if not marker.exists():
                  marker.write_text("tried")
                  trial_runner.save_artifact("first.txt", b"attempt 1")
                  sys.exit(1)
              trial_runner.save_artifact("model.bin", bytes(range(256)) * 10)
              trial_runner.report(score=float(sys.argv[2]))
            - MARKER
            - "${params.x}"
"""


def test_a_trial_records_the_artifacts_of_its_final_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cluster's bucket folder in the caller's environment does not reach local trials.
    monkeypatch.setenv("TRADEOFF_ARTIFACTS_S3_URL", "s3://someone-elses-bucket/runs/")
    (tmp_path / "study.yaml").write_text(MANIFEST.replace("MARKER", str(tmp_path / "marker")))
    done = tradeoff("run", "study.yaml", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    workdir = tmp_path / ".tradeoff/saves"
    [record] = FileStore(workdir).load_trials()
    assert (record.status.state, record.status.attempts) == ("Succeeded", 2)
    content = bytes(range(256)) * 10
    [artifact] = record.status.artifacts
    assert artifact.model_dump() == {
        "name": "model.bin",
        "path": "artifacts/saves-0000/model.bin",
        "size": 2560,
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    # The failed attempt's file went with it; the record's path leads to the content.
    assert [p.name for p in (workdir / "artifacts/saves-0000").iterdir()] == ["model.bin"]
    assert (workdir / artifact.path).read_bytes() == content

"""A finite space no larger than the budget runs to exhaustion in local mode too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: finite}
spec:
  objectives: [{name: score, direction: maximize}]
  parameters: [{name: count, type: int, low: 0, high: 59}]
  algorithm: {name: ALGORITHM, seed: 4}
  budget: {maxTrials: 60, parallelism: 4}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c, "import sys; print('score=' + sys.argv[1])", "${params.count}"]
"""


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["tpe", "nsga2"])
def test_int_0_to_59_runs_exactly_60_trials(tmp_path: Path, algorithm: str) -> None:
    (tmp_path / "study.yaml").write_text(MANIFEST.replace("ALGORITHM", algorithm))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO)])}
    result = subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", "run", "study.yaml", "--workdir", "w", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "w" / "trials").glob("*.json")]
    assert sorted(r["spec"]["parameters"]["count"] for r in records) == list(range(60))
    assert "SearchSpaceExhausted" in result.stdout + result.stderr

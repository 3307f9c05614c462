"""`tradeoff propose` end to end: run a study, propose, validate, run the proposal warm-started."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.cli import tradeoff
from tradeoff.local import FileStore

REPO = Path(__file__).resolve().parents[2]

# score peaks beyond x's range (x=9) and is 30 lower with kind=b; z does nothing.
MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: first}
spec:
  objectives: [{name: score, direction: maximize}]
  parameters:
    - {name: x, type: float, low: 0.0, high: 4.0}
    - {name: z, type: int, low: 1, high: 9}
    - {name: kind, type: categorical, values: [a, b]}
  algorithm: {name: random, seed: 3}
  budget: {maxTrials: 24, parallelism: 2}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - >-
              import sys; x = float(sys.argv[1]); b = sys.argv[3] == 'b';
              print(f'score={-(x - 9) ** 2 - 30 * b}')
            - "${params.x}"
            - "${params.z}"
            - "${params.kind}"
"""


def test_a_study_proposes_its_successor_which_runs_warm_started(tmp_path: Path) -> None:
    (tmp_path / "first.yaml").write_text(MANIFEST)
    done = tradeoff("run", "first.yaml", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    done = tradeoff("propose", ".tradeoff/first", "-o", "next.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("next.yaml: Study first-2,")
    text = (tmp_path / "next.yaml").read_text()
    comments = [line for line in text.splitlines() if line.startswith("# - ")]
    proposed = yaml.safe_load(text)
    spec = proposed["spec"]
    assert proposed["metadata"]["name"] == "first-2"
    assert spec["warmStart"] == {"fromStudies": [{"name": "first"}]}
    # z has no effect: fixed in the template; kind=b is never on the front: dropped.
    assert [p["name"] for p in spec["parameters"]] == ["x", "kind"]
    assert spec["parameters"][1]["values"] == ["a"]
    args = spec["trialTemplate"]["pod"]["containers"][0]["args"]
    assert "${params.z}" not in args and args[2].isdigit()
    assert any(c.startswith("# - parameters.z: removed;") for c in comments), text
    assert any(c.startswith("# - parameters.kind.values: dropped b;") for c in comments), text
    assert any(c.startswith("# - warmStart.fromStudies: added first") for c in comments), text
    done = tradeoff("propose", ".tradeoff/first", "-o", "missing/next.yaml", cwd=tmp_path)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert done.stderr.startswith("tradeoff propose: missing/next.yaml: cannot write")
    # The same text on stdout without -o.
    assert tradeoff("propose", ".tradeoff/first", cwd=tmp_path).stdout == text

    done = tradeoff("validate", "next.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "next.yaml: Study first-2 is valid" in done.stdout

    done = tradeoff("run", "next.yaml", "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Warm start: 24 prior trials (first: 24)" in done.stdout
    records = FileStore(tmp_path / ".tradeoff/first-2").load_trials()
    assert records and all(r.spec.parameters["kind"] == "a" for r in records)
    assert all(set(r.spec.parameters) == {"x", "kind"} for r in records)


def test_a_bad_study_argument_is_one_line_and_exit_2(tmp_path: Path) -> None:
    done = tradeoff("propose", "nowhere", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("tradeoff propose: nowhere: no such study workdir")
    (tmp_path / "empty").mkdir()
    done = tradeoff("propose", "empty", cwd=tmp_path)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert "not a study workdir" in done.stderr

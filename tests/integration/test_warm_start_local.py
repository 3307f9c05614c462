"""Warm start in local mode: a study started from another study's workdir, end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cli import tradeoff
from tradeoff.local import FileStore

REPO = Path(__file__).resolve().parents[2]

MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {{name: {name}}}
spec:
  objectives: [{{name: acc, direction: maximize}}, {{name: size, direction: minimize}}]
  parameters: [{{name: x, type: float, low: 0.0, high: 1.0}}]
  algorithm: {{name: tpe, seed: 2}}
  budget: {{maxTrials: {trials}, parallelism: 1}}
{warm}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - "import sys; x = float(sys.argv[1]); print(f'acc={{1 - (x - 0.8) ** 2}} size={{x}}')"
            - "${{params.x}}"
"""


def _write(path: Path, name: str, trials: int, warm: str = "") -> Path:
    path.write_text(MANIFEST.format(name=name, trials=trials, warm=warm))
    return path


def test_a_study_warm_started_from_another_study_s_workdir(tmp_path: Path) -> None:
    source = _write(tmp_path / "earlier.yaml", "earlier", 6)
    done = tradeoff("run", str(source), "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    earlier = FileStore(tmp_path / ".tradeoff/earlier").load_trials()
    assert len(earlier) == 6

    warm = (
        "  warmStart:\n"
        "    fromStudies: [{name: earlier}]\n"
        "    trials: [{parameters: {x: 0.5}}, {parameters: {x: 0.05}, values: {acc: 2, size: 0}}]\n"
        "    includeInFront: true\n"
    )
    later = _write(tmp_path / "later.yaml", "later", 3, warm)
    done = tradeoff("run", str(later), "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    line = (
        "Warm start: 7 prior trials (earlier: 6, warmStart.trials: 1); 1 configuration to run first"
    )
    assert line in done.stdout
    assert "Study later Succeeded (MaxTrialsReached): all 3 trials ran" in done.stdout
    # The known result dominates everything: with includeInFront it is the front, marked.
    assert "warmStart.trials[1] ★ (prior)" in done.stdout
    records = FileStore(tmp_path / ".tradeoff/later").load_trials()
    assert [r.metadata.name for r in records] == ["later-0000", "later-0001", "later-0002"]
    assert records[0].spec.parameters == {"x": 0.5}  # the configuration to run first
    report = (tmp_path / ".tradeoff/later/report.html").read_text()
    assert f"<dt>Warm start</dt><dd>{line.removeprefix('Warm start: ')}</dd>" in report
    recorded = json.loads((tmp_path / ".tradeoff/later/priors.json").read_text())
    assert [len(s["trials"]) for s in recorded["sources"]] == [6]

    # The priors are the recorded ones: the source may go, show and resume see the same.
    shutil.rmtree(tmp_path / ".tradeoff/earlier")
    shown = tradeoff("show", "later", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert line in shown.stdout and "(prior)" in shown.stdout
    more = _write(tmp_path / "later.yaml", "later", 5, warm)
    done = tradeoff("run", str(more), "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert line in done.stdout
    assert len(FileStore(tmp_path / ".tradeoff/later").load_trials()) == 5

    # warmStart is fixed once the study started, like its space.
    changed = _write(tmp_path / "later.yaml", "later", 5, warm.replace("true", "false"))
    done = tradeoff("run", str(changed), "--no-progress", cwd=tmp_path)
    assert done.returncode == 2
    assert "warmStart changed since it started" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_source_study_is_one_line_and_exit_2(tmp_path: Path) -> None:
    warm = "  warmStart: {fromStudies: [{name: nowhere}]}\n"
    manifest = _write(tmp_path / "later.yaml", "later", 2, warm)
    done = tradeoff("run", str(manifest), "--no-progress", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "spec.warmStart.fromStudies: no study workdir 'nowhere'" in done.stderr
    assert not list((tmp_path / ".tradeoff/later/trials").glob("*.json"))
    # Refused before the workdir recorded the study: the corrected manifest runs there.
    assert not (tmp_path / ".tradeoff/later/study.json").exists()
    _write(manifest, "later", 2)
    done = tradeoff("run", str(manifest), "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_a_study_cannot_warm_start_from_its_own_workdir(tmp_path: Path) -> None:
    warm = "  warmStart: {fromStudies: [{name: later}]}\n"
    manifest = _write(tmp_path / "later.yaml", "later", 2, warm)
    done = tradeoff("run", str(manifest), "--no-progress", cwd=tmp_path)
    assert done.returncode == 2
    assert "spec.warmStart.fromStudies[0]: 'later' is this study's own workdir" in done.stderr
    assert not (tmp_path / ".tradeoff/later/study.json").exists()


BRANCHED = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {{name: {name}}}
spec:
  objectives: [{{name: acc, direction: maximize}}]
  parameters:
    - {{name: model, type: categorical, values: [a, b, c]}}
    - {{name: x, type: float, low: 0.0, high: 1.0, when: {{model: [a]}}}}
  algorithm: {{name: tpe, seed: 4}}
  budget: {{maxTrials: {trials}, parallelism: 1}}
{warm}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - "import sys; print(f'acc={{dict(a=0.9, b=0.5, c=0.1)[sys.argv[1]]}}')"
            - "${{params.model}}"
"""


def test_priors_paced_by_branch_say_how_many_are_in_use(tmp_path: Path) -> None:
    source = tmp_path / "earlier.yaml"
    source.write_text(BRANCHED.format(name="earlier", trials=6, warm=""))
    done = tradeoff("run", str(source), "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    warm = "  warmStart: {fromStudies: [{name: earlier}], paceByBranch: true}\n"
    later = tmp_path / "later.yaml"
    later.write_text(BRANCHED.format(name="later", trials=3, warm=warm))
    done = tradeoff("run", str(later), "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    prior = [
        r.spec.parameters["model"] for r in FileStore(tmp_path / ".tradeoff/earlier").load_trials()
    ]
    own = [
        r.spec.parameters["model"] for r in FileStore(tmp_path / ".tradeoff/later").load_trials()
    ]
    in_use = sum(min(own.count(m), prior.count(m)) for m in "abc")
    assert in_use > 0  # the seed tries a branch the source has priors in
    assert (
        f"Warm start: 6 prior trials (earlier: 6); paced by branch: {in_use} in use" in done.stdout
    )


def test_pacing_priors_in_a_space_without_branches_is_one_line_and_exit_2(tmp_path: Path) -> None:
    warm = "  warmStart: {fromStudies: [{name: earlier}], paceByBranch: true}\n"
    manifest = _write(tmp_path / "later.yaml", "later", 2, warm)
    done = tradeoff("run", str(manifest), "--no-progress", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert "spec.warmStart.paceByBranch: the space has no branches" in done.stderr

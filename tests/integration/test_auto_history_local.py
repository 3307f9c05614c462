"""`auto` learns from the finished studies of the workdir root, end to end with `tradeoff run`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.cli import tradeoff
from tradeoff.api import AlgorithmChoice, Trial
from tradeoff.engine.validation import validate_study
from tradeoff.local import FileStore

REPO = Path(__file__).resolve().parents[2]
PRINTF = shutil.which("printf") or "/usr/bin/printf"


def manifest(name: str, trials: int, algorithm: str = "auto", low: float = 0.0) -> dict[str, Any]:
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": name},
        "spec": {
            "objectives": [{"name": "loss", "direction": "minimize"}],
            "parameters": [
                {"name": "x", "type": "float", "low": low, "high": 1.0},
                {"name": "c", "type": "categorical", "values": ["a", "b"]},
            ],
            "algorithm": {"name": algorithm, "seed": 4},
            "budget": {"maxTrials": trials, "parallelism": 1},
            "trialTemplate": {
                "pod": {
                    "containers": [
                        {
                            "name": "trial",
                            "command": [PRINTF, "loss=%s\\n", "${params.x}"],
                        }
                    ]
                }
            },
        },
    }


def past(root: Path, name: str, ran: str, best: float, low: float = 0.0, done: bool = True) -> None:
    """A workdir as `tradeoff run` leaves it: `auto` resolved to `ran`, losses 1.0 and `best`."""
    study = validate_study(manifest(name, 2, low=low))
    store = FileStore(root / name)
    store.open(study)
    store.record_algorithm(AlgorithmChoice(name=ran, reason="auto: earlier"))  # type: ignore[arg-type]
    for n, loss in enumerate([1.0, best]):
        record = Trial.new(name, n, {"x": loss, "c": "a"})
        record.status.state = "Succeeded" if done or n == 0 else "Running"
        record.status.values = [loss] if record.status.state == "Succeeded" else None
        store.save_trial(record)
    store.sync()


def recorded(workdir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((workdir / "study.json").read_text())
    return dict(document["algorithm"])


def test_history_of_the_same_space_changes_the_choice_and_a_resume_keeps_it(
    tmp_path: Path,
) -> None:
    root = tmp_path / ".tradeoff"
    for i in range(3):
        past(root, f"nsga-{i}", "nsga2", 0.0)
        past(root, f"tpe-{i}", "tpe", 0.5)
        past(root, f"other-space-{i}", "random", -5.0, low=0.5)  # another range: not history
    past(root, "unfinished", "random", -9.0, done=False)  # a trial still running: not history
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(manifest("new", 2)))

    done = tradeoff("run", str(path), "--no-progress", cwd=tmp_path, columns=400)
    assert done.returncode == 0, done.stderr
    choice = recorded(root / "new")
    assert choice["name"] == "nsga2"
    reason = choice["reason"]
    assert reason.startswith("auto from history: 6 finished studies of this space (3 nsga2, 3 tpe)")
    assert "nsga2 median 1.000 over 3 (nsga-0, nsga-1, nsga-2)" in reason
    assert "tpe median 0.545 over 3 (tpe-0, tpe-1, tpe-2)" in reason
    assert "the fixed rule said tpe: categorical or conditional parameters" in reason
    assert f"Algorithm: nsga2 ({reason})" in done.stdout

    # History changes, the study resumes with a larger budget: it keeps its choice.
    for i in range(3, 9):
        past(root, f"tpe-{i}", "tpe", -3.0)
    path.write_text(yaml.safe_dump(manifest("new", 3)))
    again = tradeoff("run", str(path), "--no-progress", cwd=tmp_path, columns=400)
    assert again.returncode == 0, again.stderr
    assert recorded(root / "new") == choice
    assert len(FileStore(root / "new").load_trials()) == 3

    # A new study of the same space now learns the other way.
    path.write_text(yaml.safe_dump(manifest("newer", 2)))
    assert tradeoff("run", str(path), "--no-progress", cwd=tmp_path, columns=400).returncode == 0
    assert recorded(root / "newer")["name"] == "tpe"
    note = "history: 13 finished studies of this space (4 nsga2, 9 tpe), nsga2 not ahead"
    assert note in recorded(root / "newer")["reason"]

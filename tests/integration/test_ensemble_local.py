"""`tradeoff ensemble` on a real local study: its trials' saved predictions, combined."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.cli import tradeoff
from tradeoff.cli import main as cli_main

MANIFEST = {
    "apiVersion": "tradeoff.dev/v1alpha1",
    "kind": "Study",
    "metadata": {"name": "ens"},
    "spec": {
        "objectives": [{"name": "accuracy", "direction": "maximize"}],
        "parameters": [
            {"name": "model", "type": "categorical", "values": ["logreg", "knn", "forest"]},
            {
                "name": "n_neighbors",
                "type": "int",
                "low": 1,
                "high": 15,
                "when": {"model": ["knn"]},
            },
        ],
        "algorithm": {"name": "random", "seed": 2},
        "budget": {"maxTrials": 4, "parallelism": 2},
        "trialTemplate": {
            "pod": {
                "containers": [
                    {
                        "name": "trial",
                        "command": ["python", "-m", "trial_runner.sklearn"],
                        "args": [
                            "--dataset=breast_cancer",
                            "--model=${params.model}",
                            "--n_neighbors=${params.n_neighbors}",
                            "--n_estimators=20",
                        ],
                    }
                ]
            }
        },
    },
}


def test_an_ensemble_of_the_best_trials_from_their_saved_predictions(tmp_path: Path) -> None:
    (tmp_path / "ens.yaml").write_text(yaml.safe_dump(MANIFEST))
    ran = tradeoff("run", "ens.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert ran.returncode == 0, ran.stderr
    result = tradeoff(
        "ensemble", "ens", "--from", "top:3", "--size", "8", "--format", "json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["candidates"] == 3 and found["rows"] == 143  # breast_cancer's held-out 25%
    assert found["scores"] == "probabilities"
    assert sum(m["weight"] for m in found["members"]) == 1.0
    best_alone = max(m["accuracy"] for m in found["members"])
    assert found["accuracy"] >= best_alone  # the first round is the best single candidate
    assert 0 < found["crossFitted"]["ensemble"] <= 1 and found["skipped"] == []

    # A predictions file changed after the trial saved it is not used, and the output says so.
    member = found["members"][0]["trial"]
    saved = tmp_path / ".tradeoff" / "ens" / "artifacts" / member / "predictions.csv"
    saved.write_text(saved.read_text().replace("index", "index ", 1))
    again = tradeoff("ensemble", "ens", "--from", "top:3", "--format", "json", cwd=tmp_path)
    skipped = json.loads(again.stdout)["skipped"]
    where = saved.relative_to(tmp_path / ".tradeoff" / "ens")
    assert skipped == [f"{member}: {where} changed since the trial saved it"]

    table = tradeoff("ensemble", "ens", "--from", "top:3", cwd=tmp_path)
    assert table.returncode == 0 and "best single trial" in table.stdout

    # On demand, recorded as the study's Ensemble trial (once).
    saved.write_text(saved.read_text().replace("index ", "index", 1))  # as it was saved
    made = tradeoff("ensemble", "ens", "--from", "top:2", "--record", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "Recorded ens-ensemble (Succeeded)" in made.stderr
    record = json.loads((tmp_path / ".tradeoff/ens/trials/ens-ensemble.json").read_text())
    assert record["spec"]["kind"] == "Ensemble" and record["spec"]["number"] == 4
    trials = [json.loads(p.read_text()) for p in (tmp_path / ".tradeoff/ens/trials").glob("*")]
    by_accuracy = sorted(
        (t for t in trials if t["spec"].get("kind") != "Ensemble"),
        key=lambda t: (-t["status"]["metrics"]["accuracy"], t["spec"]["number"]),
    )
    best_two = [t["metadata"]["name"] for t in by_accuracy[:2]]
    assert record["spec"]["ensemble"]["candidates"] == best_two
    assert record["status"]["state"] == "Succeeded"
    assert "Ensemble trial Succeeded" in tradeoff("show", "ens", cwd=tmp_path).stdout
    again = tradeoff("ensemble", "ens", "--record", cwd=tmp_path)
    assert again.returncode == 2 and "already has its Ensemble trial" in again.stderr


def test_bad_requests_are_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    cases = [
        (["study/remote"], "artifacts are kept in local mode only"),
        (["nowhere"], "no such study workdir"),
        (["x", "--from", "top:0"], "expected 'front' or 'top:N'"),
        (["x", "--size", "0"], "expected a whole number from 1 to 1000"),
    ]
    for args, said in cases:
        with pytest.raises(SystemExit) as exited:
            sys.exit(cli_main(["ensemble", *args]))
        assert exited.value.code == 2, args
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and said in lines[0], lines


def _mixed_metrics(workdir: Path, members: dict[str, float]) -> dict[str, float]:
    """The ensemble's metrics recomputed from its members' saved predictions (sklearn)."""
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss

    mixed = None
    for name, weight in members.items():
        with (workdir / "artifacts" / name / "predictions.csv").open() as file:
            rows = list(csv.reader(file))
        classes = [c.removeprefix("proba_") for c in rows[0][3:]]
        truth = [r[1] for r in rows[1:]]
        proba = np.array([[float(v) for v in r[3:]] for r in rows[1:]])
        mixed = weight * proba if mixed is None else mixed + weight * proba
    assert mixed is not None
    predicted = [classes[i] for i in mixed.argmax(axis=1)]
    return {
        "accuracy": accuracy_score(truth, predicted),
        "balanced_accuracy": balanced_accuracy_score(truth, predicted),
        "log_loss": log_loss(truth, mixed, labels=classes),
    }


def test_spec_ensemble_ends_the_study_with_one_ensemble_trial(tmp_path: Path) -> None:
    doc = json.loads(json.dumps(MANIFEST))
    doc["spec"]["objectives"].append({"name": "cost", "direction": "minimize"})
    doc["spec"]["ensemble"] = {"size": 6, "from": {"top": 3}}
    (tmp_path / "ens.yaml").write_text(yaml.safe_dump(doc))
    ran = tradeoff("run", "ens.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert ran.returncode == 0, ran.stderr
    assert "ens-ensemble" in ran.stdout  # on the front (the most accurate) and listed
    workdir = tmp_path / ".tradeoff" / "ens"
    records = sorted((workdir / "trials").glob("*.json"))
    ensembles = [p for p in records if json.loads(p.read_text())["spec"]["kind"] == "Ensemble"]
    assert [p.stem for p in ensembles] == ["ens-ensemble"]
    record = json.loads(ensembles[0].read_text())
    assert record["spec"]["number"] == 4 and record["status"]["state"] == "Succeeded"
    assert len(record["spec"]["ensemble"]["candidates"]) == 3
    members = {m["trial"]: m["weight"] for m in record["status"]["ensemble"]["members"]}
    assert set(members) <= set(record["spec"]["ensemble"]["candidates"])
    expected = _mixed_metrics(workdir, members)
    for name, value in expected.items():
        assert record["status"]["metrics"][name] == pytest.approx(value), name
    # Its cost is its members' (they are spent already: the study's total counts them once).
    trials = {p.stem: json.loads(p.read_text()) for p in records}
    cost = sum(trials[m]["status"]["economics"]["costUSD"] for m in members)
    assert record["status"]["values"] == [pytest.approx(expected["accuracy"]), pytest.approx(cost)]

    shown = tradeoff("show", "ens", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Progress: 4/4 trials finished; Ensemble trial Succeeded" in shown.stdout
    assert "Ensemble of ens-" in shown.stdout  # its row names its members, not parameters

    # A run that stopped after saving the Ensemble trial Pending, before it finished: the
    # next run finishes that one (same number) and makes no second.
    record["status"] = {"state": "Pending"}
    ensembles[0].write_text(json.dumps(record))
    again = tradeoff("run", "ens.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert again.returncode == 0, again.stderr
    names = sorted(p.stem for p in (workdir / "trials").glob("*.json"))
    assert names == ["ens-0000", "ens-0001", "ens-0002", "ens-0003", "ens-ensemble"]
    redone = json.loads((workdir / "trials" / "ens-ensemble.json").read_text())
    assert redone["spec"]["number"] == 4 and redone["status"]["state"] == "Succeeded"
    assert redone["status"]["metrics"]["accuracy"] == pytest.approx(expected["accuracy"])
    # And a run of the finished study leaves it as it is.
    third = tradeoff("run", "ens.yaml", "--no-progress", cwd=tmp_path, timeout=300)
    assert third.returncode == 0, third.stderr
    assert json.loads((workdir / "trials" / "ens-ensemble.json").read_text()) == redone

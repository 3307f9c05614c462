"""`tradeoff ensemble` on a real local study: its trials' saved predictions, combined."""

from __future__ import annotations

import json
import sys
from pathlib import Path

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

"""The built-in scikit-learn workload, run as a real subprocess and parsed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeoff.trial_output import TrialOutput

REPO = Path(__file__).resolve().parents[2]
FINAL_METRICS = {"accuracy", "balanced_accuracy", "fit_seconds", "model_size_bytes", "n_train"}


def _run(
    *args: str, summary: Path | None = None, artifacts: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("TRADEOFF_TERMINATION_LOG", None)
    env.pop("TRADEOFF_ARTIFACTS", None)
    if summary is not None:
        env["TRADEOFF_TERMINATION_LOG"] = str(summary)
    if artifacts is not None:
        env["TRADEOFF_ARTIFACTS"] = str(artifacts)
    return subprocess.run(
        [sys.executable, "-m", "trial_runner.sklearn", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _parse(result: subprocess.CompletedProcess[str]) -> TrialOutput:
    assert result.returncode == 0, result.stderr
    output = TrialOutput()
    output.feed_text(result.stdout)
    assert output.problems == []
    return output


@pytest.mark.parametrize(
    ("model", "options", "steps"),
    [
        ("logreg", ["--C=0.5"], []),
        ("svm", ["--C=3", "--gamma=scale", "--kernel=rbf"], []),
        ("knn", ["--n_neighbors=3", "--weights=distance"], []),
        ("forest", ["--n-estimators=20", "--max_depth=8"], [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]),
        ("boosting", ["--n_estimators=10", "--learning-rate=0.2"], list(range(1, 11))),
        (
            "mlp",
            ["--epochs=6", "--hidden-units=32", "--layers=2", "--learning_rate=0.01"],
            [1, 2, 3, 4, 5, 6],
        ),
    ],
)
def test_each_model_reports_its_metrics(
    model: str, options: list[str], steps: list[int], tmp_path: Path
) -> None:
    summary = tmp_path / "termination-log"
    result = _run(
        "--dataset=digits",
        f"--model={model}",
        "--data_fraction=0.3",
        "--pca=0.95",
        *options,
        summary=summary,
    )
    output = _parse(result)
    assert set(output.final) >= FINAL_METRICS
    assert 0.6 < output.final["accuracy"] <= 1.0
    assert 0.6 < output.final["balanced_accuracy"] <= 1.0
    assert output.final["n_train"] == round(0.3 * 1347)
    assert output.final["model_size_bytes"] > 1000
    assert 0 < output.final["fit_seconds"] < 10
    assert [step for step, _ in output.intermediate.get("accuracy", [])] == steps
    if steps:
        assert output.intermediate["accuracy"][-1][1] == output.final["accuracy"]
    recorded = json.loads(summary.read_text())["metrics"]
    assert {name: recorded[name] for name in FINAL_METRICS} == {
        name: output.final[name] for name in FINAL_METRICS
    }


def test_runs_are_deterministic_for_a_seed() -> None:
    options = ("--dataset=wine", "--model=forest", "--n_estimators=15", "--seed=4")
    first, second = _parse(_run(*options)), _parse(_run(*options))
    assert first.intermediate == second.intermediate
    assert first.final["accuracy"] == second.final["accuracy"]
    other = _parse(_run(*options[:-1], "--seed=5", "--data_fraction=0.5"))
    assert other.final["n_train"] != first.final["n_train"]


def test_synthetic_data_has_n_samples() -> None:
    options = ("--dataset=synthetic", "--model=logreg")
    assert _parse(_run(*options)).final["n_train"] == 1500  # 2000 by default
    assert _parse(_run(*options, "--n_samples=4000")).final["n_train"] == 3000
    assert _parse(_run("--dataset=iris", "--n-samples=4000")).final["n_train"] == 112


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--model=foo"], "--model"),
        (["--C=-1"], "--C"),
        (["--data-fraction=1.5"], "--data_fraction"),
        (["--gamma=wide"], "--gamma"),
        (["--n_samples=50"], "--n_samples"),
    ],
)
def test_bad_option_exits_2_with_one_line(args: list[str], option: str) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert option in lines[0]


def test_model_that_cannot_fit_exits_1_with_one_line() -> None:
    result = _run("--dataset=iris", "--model=knn", "--n_neighbors=100", "--data_fraction=0.1")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "knn on iris" in lines[0]
    assert "n_neighbors" in lines[0]


@pytest.mark.parametrize(
    ("model", "predictions", "columns"),
    [
        ("knn", "proba", ["proba_0", "proba_1", "proba_2"]),
        ("forest", "labels", []),
        ("svm", "proba", []),  # an SVM has no probabilities: labels only
    ],
)
def test_held_out_predictions_are_saved_and_match_the_accuracy(
    tmp_path: Path, model: str, predictions: str, columns: list[str]
) -> None:
    args = [
        "--dataset=iris",
        f"--model={model}",
        f"--predictions={predictions}",
        "--n_estimators=10",
    ]
    output = _parse(_run(*args, artifacts=tmp_path))
    rows = (tmp_path / "predictions.csv").read_text().splitlines()
    assert rows[0].split(",") == ["index", "y_true", "y_pred", *columns]
    body = [row.split(",") for row in rows[1:]]
    assert [int(r[0]) for r in body] == list(range(38))  # iris' held-out quarter, in order
    correct = sum(r[1] == r[2] for r in body)
    assert correct / len(body) == output.final["accuracy"]
    for r in body:
        if columns:
            assert abs(sum(float(p) for p in r[3:]) - 1) < 1e-4
            assert max(range(3), key=lambda c: float(r[3 + c])) == int(r[2])


def test_no_predictions_saves_nothing_and_without_a_folder_stderr_says_so(tmp_path: Path) -> None:
    _parse(_run("--dataset=iris", "--model=knn", "--predictions=none", artifacts=tmp_path))
    assert list(tmp_path.iterdir()) == []
    done = _run("--dataset=iris", "--model=knn")
    _parse(done)
    assert done.stderr == (
        "trial_runner: artifact 'predictions.csv' not stored: this trial has no artifact"
        " folder (TRADEOFF_ARTIFACTS is unset)\n"
    )

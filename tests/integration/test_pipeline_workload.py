"""The built-in pipeline workload: graphs built from options, their metrics and complexity."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeoff.trial_output import TrialOutput
from trial_runner import pipeline

REPO = Path(__file__).resolve().parents[2]
FINAL_METRICS = {
    "accuracy",
    "balanced_accuracy",
    "n_steps",
    "n_features",
    "inference_ms",
    "model_size_bytes",
    "fit_seconds",
    "n_train",
}


def _run(*args: str, artifacts: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("TRADEOFF_ARTIFACTS", None)
    if artifacts is not None:
        env["TRADEOFF_ARTIFACTS"] = str(artifacts)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("TRADEOFF_TERMINATION_LOG", None)
    return subprocess.run(
        [sys.executable, "-m", "trial_runner.pipeline", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _final(result: subprocess.CompletedProcess[str]) -> dict[str, float]:
    assert result.returncode == 0, result.stderr
    output = TrialOutput()
    output.feed_text(result.stdout)
    assert output.problems == []
    return dict(output.final)


@pytest.mark.parametrize(
    ("options", "steps", "features"),
    [
        # scaler + the model; the raw features pass through (64 pixels of digits)
        (["--model=logreg"], 2, 64),
        # no scaler; PCA and k-best side by side (k = 10), then k-NN
        (["--scaler=none", "--features=pca+kbest", "--kbest_k=10", "--model=knn"], 3, None),
        # scaler + raw and interactions of 4 inputs (4 + 6) + a soft vote of two
        (["--features=raw+poly", "--poly_inputs=4", "--head=vote", "--members=logreg+knn"], 5, 74),
        # scaler + kernel map (50) + a stack of two under a forest
        (
            [
                "--features=nystroem",
                "--nystroem_components=50",
                "--head=stack",
                "--members=svm+knn",
                "--final=forest",
                "--n_estimators=20",
            ],
            5,
            50,
        ),
    ],
)
def test_each_shape_is_built_fitted_and_measured(
    options: list[str], steps: int, features: int | None
) -> None:
    final = _final(_run("--dataset=digits", *options))
    assert set(final) == FINAL_METRICS
    assert 0.7 < final["accuracy"] <= 1.0
    assert final["n_steps"] == steps
    if features is not None:
        assert final["n_features"] == features
    else:  # PCA keeps what explains 90% of the variance: between k-best's 10 and all 64 more
        assert 10 < final["n_features"] < 10 + 64
    assert final["inference_ms"] > 0 and final["model_size_bytes"] > 0
    assert final["n_train"] == 1347  # 75% of 1797


def test_a_stack_costs_more_to_predict_than_its_cheapest_member() -> None:
    single = _final(_run("--dataset=breast_cancer", "--model=logreg"))
    stack = _final(
        _run(
            "--dataset=breast_cancer",
            "--head=stack",
            "--members=logreg+knn+forest",
            "--n_estimators=50",
        )
    )
    assert stack["n_steps"] > single["n_steps"]
    assert stack["inference_ms"] > 2 * single["inference_ms"]
    assert stack["model_size_bytes"] > 2 * single["model_size_bytes"]


def test_held_out_predictions_are_saved_and_agree_with_the_accuracy(tmp_path: Path) -> None:
    import csv

    final = _final(
        _run("--dataset=iris", "--head=vote", "--members=logreg+knn", artifacts=tmp_path)
    )
    with (tmp_path / "predictions.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 38  # 25% of iris's 150, stratified
    assert set(rows[0]) == {"index", "y_true", "y_pred", "proba_0", "proba_1", "proba_2"}
    right = sum(r["y_true"] == r["y_pred"] for r in rows)
    assert right / len(rows) == final["accuracy"]


def test_runs_are_deterministic_for_a_seed() -> None:
    argv = ["--dataset=breast_cancer", "--features=raw+pca", "--head=vote", "--members=svm+forest"]
    first, second = (_final(_run(*argv, "--n_estimators=10")) for _ in range(2))
    assert first["accuracy"] == second["accuracy"]
    assert first["n_features"] == second["n_features"]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--features=raw+wavelets"], "--features"),
        (["--features=raw+raw"], "--features"),
        (["--members=svm+svm"], "--members"),
        (["--head=tower"], "--head"),
        (["--pca_components=0"], "--pca_components"),
        (["--final=svm"], "--final"),
    ],
)
def test_bad_option_exits_2_with_one_line(args: list[str], option: str) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0]


def test_a_graph_that_cannot_fit_exits_1_with_one_line() -> None:
    result = _run("--dataset=iris", "--model=knn", "--n_neighbors=500")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("trial_runner.pipeline: error: raw -> single on iris: ")


def test_steps_are_counted_through_nested_graphs() -> None:
    args = pipeline.build_parser().parse_args(
        ["--features=raw+pca+poly", "--head=stack", "--members=logreg+svm+knn", "--final=knn"]
    )
    # scaler 1 + pca 1 + poly (columns, interactions) 2 + three members + final 1
    assert pipeline.count_steps(pipeline.graph(args, n_features=64)) == 8


def test_the_pipeline_example_runs_locally_with_complexity_as_an_objective(
    tmp_path: Path,
) -> None:
    import json

    import yaml

    from tests.cli import tradeoff

    manifest = yaml.safe_load((REPO / "examples" / "pipeline-dag.yaml").read_text())
    # Made small: four trials, no stacks (5-fold fits), the cheapest members, small forests.
    spec = manifest["spec"]
    spec["budget"].update(maxTrials=4, parallelism=2)
    spec["parameters"] = [p for p in spec["parameters"] if p["name"] != "final"]
    parameters = {p["name"]: p for p in spec["parameters"]}
    parameters["head"]["values"] = ["single", "vote"]
    parameters["members"]["values"] = ["logreg+knn"]
    parameters["members"]["when"] = {"head": ["vote"]}
    container = spec["trialTemplate"]["pod"]["containers"][0]
    container["args"].remove("--final=${params.final}")
    container["args"][container["args"].index("--n_estimators=60")] = "--n_estimators=15"
    path = tmp_path / "dag.yaml"
    path.write_text(yaml.safe_dump(manifest))
    assert tradeoff("validate", str(path), cwd=tmp_path).returncode == 0
    result = tradeoff("run", str(path), "--no-progress", cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Study pipeline-dag Succeeded (MaxTrialsReached)" in result.stdout
    workdir = tmp_path / ".tradeoff" / "pipeline-dag"
    records = [json.loads(p.read_text()) for p in sorted((workdir / "trials").glob("*.json"))]
    assert len(records) == 4
    for record in records:
        status = record["status"]
        assert status["state"] == "Succeeded", status
        metrics = status["metrics"]
        # the objectives in the study's order: accuracy, the reported complexity, cost
        assert status["values"] == [
            metrics["accuracy"],
            metrics["inference_ms"],
            status["economics"]["costUSD"],
        ]
        assert metrics["n_steps"] >= 2

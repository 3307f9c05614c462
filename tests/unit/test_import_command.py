"""`tradeoff import FILE`: the manifest, the notes on stderr, and bad input in one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.cli import tradeoff
from tradeoff.cli import main

MANIFESTS = Path(__file__).parent / "manifests" / "katib"


def test_import_prints_a_study_that_tradeoff_validate_accepts(tmp_path: Path) -> None:
    shutil.copy(MANIFESTS / "pytorchjob.yaml", tmp_path)
    done = tradeoff("import", "pytorchjob.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "# Imported by `tradeoff import` from pytorchjob.yaml"
        " (Katib Experiment pytorchjob-mnist).\n# Not carried over as it was:\n"
    )
    study = yaml.safe_load(done.stdout)
    assert study["kind"] == "Study" and study["metadata"]["name"] == "pytorchjob-mnist"
    # Every note is on stderr, one line each, and in the manifest's header comment.
    noted = done.stderr.splitlines()
    assert noted and all(n.startswith("tradeoff import: note: ") for n in noted)
    header = [line[4:] for line in done.stdout.splitlines() if line.startswith("# - ")]
    assert [n.removeprefix("tradeoff import: note: ") for n in noted] == header
    assert any("the whole PyTorchJob runs as each trial" in n for n in noted)

    (tmp_path / "study.yaml").write_text(done.stdout)
    checked = tradeoff("validate", "study.yaml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "study.yaml: Study pytorchjob-mnist is valid\n"


def test_import_writes_the_study_where_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "study.yaml"
    code = main(
        ["import", str(MANIFESTS / "optimizationjob.yaml"), "-o", str(out), "--name", "bert"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == f"{out}: Study bert written (3 notes)\n"
    assert yaml.safe_load(out.read_text())["metadata"] == {"name": "bert"}
    assert len(captured.err.splitlines()) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "kind: [unclosed",
            "bad.yaml: line 2, column 1: YAML syntax error: did not find expected ',' or ']'",
        ),
        ("", "bad.yaml: the file is empty"),
        ("apiVersion: apps/v1\nkind: Deployment\n", "bad.yaml: kind: expected a Katib Experiment"),
        (
            "apiVersion: tradeoff.dev/v1alpha1\nkind: Study\n",
            "bad.yaml: kind: expected a Katib Experiment (kubeflow.org/v1beta1) or an"
            " OptimizationJob (trainer.kubeflow.org/v1alpha1), got Study (tradeoff.dev/v1alpha1)",
        ),
        (
            "apiVersion: kubeflow.org/v1alpha3\nkind: Experiment\n",
            "bad.yaml: apiVersion: kubeflow.org/v1alpha3 is not supported; only Katib's"
            " kubeflow.org/v1beta1 Experiments can be imported",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    (tmp_path / "bad.yaml").write_text(text)
    code = main(["import", str(tmp_path / "bad.yaml")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(f"tradeoff import: {tmp_path}/{message}")


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err == f"tradeoff import: {tmp_path}/nope.yaml: no such file\n"


def test_an_import_whose_study_is_invalid_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Katib substitutes anywhere; Tradeoff only in command, args, env and resources.
    doc = yaml.safe_load((MANIFESTS / "random-job.yaml").read_text())
    pod = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]
    pod["containers"][0]["image"] = "trainer:${trialParameters.scaler}"
    (tmp_path / "exp.yaml").write_text(yaml.safe_dump(doc))
    code = main(["import", str(tmp_path / "exp.yaml")])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.splitlines() == [
        f"tradeoff import: {tmp_path}/exp.yaml: the Study it becomes is not valid:",
        "  spec.trialTemplate.workload.spec.template.spec.containers[0].image:"
        " 'trainer:${params.scaler}': references"
        " are substituted only in command, args, env values and resource quantities",
    ]


def test_the_first_experiment_of_a_file_is_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: kubeflow}\n---\n"
    (tmp_path / "all.yaml").write_text(text + (MANIFESTS / "random-job.yaml").read_text())
    assert main(["import", str(tmp_path / "all.yaml")]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["metadata"]["name"] == "random"


@pytest.mark.parametrize("source", ["pytorchjob.yaml", "optimizationjob.yaml"])
def test_the_readme_shows_what_import_prints(tmp_path: Path, source: str) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    shown = readme.split(f"$ tradeoff import {source} -o study.yaml\n", 1)[1]
    shown = shown.split("$ tradeoff validate", 1)[0]
    shutil.copy(MANIFESTS / source, tmp_path)
    done = tradeoff("import", source, "-o", "study.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr + done.stdout == shown

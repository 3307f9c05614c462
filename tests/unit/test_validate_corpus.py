"""`tradeoff validate` on a corpus of malformed manifests: one clear line per problem, exit 2."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tradeoff.api.load import dump_yaml, read_documents
from tradeoff.cli import main

HERE = Path(__file__).parent
REPO = HERE.parents[1]
BAD = sorted((HERE / "manifests" / "bad").glob("*.yaml"))
GOOD = sorted((HERE / "manifests" / "good").glob("*.yaml")) + sorted(
    (REPO / "examples").glob("*.yaml")
)
EXPECT = "# expect: "


def expected_lines(path: Path) -> list[str]:
    """The `# expect: ` lines at the top of a bad manifest: every problem it must report."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [line[len(EXPECT) :] for line in lines if line.startswith(EXPECT)]
    assert lines[0].startswith(EXPECT), f"{path.name} must start with '{EXPECT}...'"
    return found


def test_corpus_is_large() -> None:
    assert len(BAD) >= 30
    assert GOOD, "no valid manifests found"


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_manifest_is_refused_in_one_line_per_problem(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert out == ""
    lines = err.splitlines()
    expected = expected_lines(path)
    # Every problem, each once, in one run: no more and no fewer lines than expected.
    assert len(lines) == len(expected), err
    for e in expected:
        assert any(line.startswith(f"{path}: {e}") for line in lines), (e, err)
    for line in lines:
        assert line.startswith(f"{path}: "), line
        assert len(line) < 300, line


def test_every_problem_of_a_manifest_is_reported_at_once() -> None:
    several = [p for p in BAD if len(expected_lines(p)) > 1]
    assert len(several) >= 3
    kinds = " ".join(" ".join(expected_lines(p)) for p in several)
    for kind in ("unknown field", "names unknown parameter", "is not a reference", "cmaes"):
        assert kind in kinds


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["validate", str(missing)]) == 2
    assert capsys.readouterr().err == f"{missing}: no such file\n"


def test_every_file_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = GOOD[0], BAD[0]
    assert main(["validate", str(bad), str(good)]) == 2
    out, err = capsys.readouterr()
    assert "is valid" in out
    assert err.startswith(f"{bad}: ")


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_valid_manifest(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.startswith(f"{path}: Study ") and out.rstrip().endswith("is valid")


def test_console_script() -> None:
    path = HERE / "manifests" / "bad" / "zero-max-trials.yaml"
    script = Path(sys.executable).with_name("tradeoff")
    found = str(script) if script.exists() else shutil.which("tradeoff")
    assert found, "the tradeoff console script is not installed (pip install -e .)"
    result = subprocess.run(
        [found, "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"{path}: spec.budget.maxTrials: must be at least 1 (got 0)\n"


def test_yaml_tradeoff_writes_reads_back_the_same(tmp_path: Path) -> None:
    """What `tradeoff propose` and `import` write: a parameter named y stays a string for
    kubectl and `tradeoff run` (PyYAML's own dumper leaves `y` unquoted)."""
    data = {"parameters": [{"name": "y"}, {"name": "N"}, {"name": "on"}], "x": [True, "yes"]}
    path = tmp_path / "out.yaml"
    path.write_text(dump_yaml(data, sort_keys=False))
    assert read_documents(path) == [data]
    assert "name: 'y'" in path.read_text()

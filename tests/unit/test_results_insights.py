"""`tradeoff insights WORKDIR` and the insights `tradeoff show` prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import manifest
from tests.unit.test_insights import TWO, X, Y, study
from tradeoff import cli
from tradeoff.api.study import Study
from tradeoff.local.store import FileStore
from tradeoff.results.source import local_view


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local study of 40 trials whose accuracy is x (best at the top of its range)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    doc = manifest(objectives=TWO, parameters=[X, Y])
    store = FileStore(tmp_path / ".tradeoff" / "demo")
    store.open(Study.model_validate(doc))
    for record in study([X, Y], lambda p, r: (p["x"] + 0.01 * r.random(), r.random())):
        store.save_trial(record)
    return store.workdir


def test_insights_table_and_json(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["insights", "demo"]) == 0
    table, _ = capsys.readouterr()
    assert "40 succeeded trials" in table
    assert "importance" in table and "accuracy: x" in table
    assert "edge" in table and "the optimum may lie beyond high=1" in table
    assert cli.main(["insights", str(workdir), "--format", "json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found == [i.wire() for i in local_view(workdir).insights]
    assert {"kind": "edge", "subject": "x", "objective": "accuracy"}.items() <= next(
        i for i in found if i["kind"] == "edge"
    ).items()


def test_show_prints_the_insights(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["show", "demo"]) == 0
    out = capsys.readouterr().out
    assert "Insights" in out and "accuracy: x" in out


def test_bad_input_is_one_line_and_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["insights", "missing"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("tradeoff insights: missing: no such study workdir")
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exited:
        cli.main(["insights", "demo", "--format", "xml"])
    assert exited.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err

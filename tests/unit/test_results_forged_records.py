"""Local records edited by hand: the results commands refuse a record that is not the
study's, in one line (exit 2), and use no sampler state the workdir's key did not sign."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.results_data import RESULT_COMMANDS, write_workdir
from tradeoff import cli
from tradeoff.engine import signing
from tradeoff.local.store import FileStore, StoreError


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return write_workdir(tmp_path / ".tradeoff")


def run(capsys: pytest.CaptureFixture[str], workdir: Path, argv: list[str]) -> tuple[int, str, str]:
    command, *rest = argv
    rest = [str(workdir) if a == "SECOND" else a for a in rest]
    code = cli.main([command, str(workdir), *rest])
    out, err = capsys.readouterr()
    return code, out, err


def edit(path: Path, change: Any) -> None:
    record = json.loads(path.read_text())
    change(record)
    path.write_text(json.dumps(record))


def first_record(workdir: Path) -> Path:
    return sorted((workdir / "trials").glob("*.json"))[0]


@pytest.mark.parametrize("argv", RESULT_COMMANDS, ids=lambda a: a[0])
def test_a_record_of_another_study_is_refused_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    path = first_record(workdir)
    edit(path, lambda r: r["spec"].update(study="other"))
    code, out, err = run(capsys, workdir, argv)
    assert code == 2 and out == ""
    assert err == (
        f"tradeoff {argv[0]}: {path}: a trial of study 'other', not of 'demo'; move it away\n"
    )


def test_a_record_whose_number_is_not_its_name_is_refused(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = first_record(workdir)
    edit(path, lambda r: r["spec"].update(number=999_999))
    code, out, err = run(capsys, workdir, ["show"])
    assert code == 2 and out == ""
    assert err == (
        f"tradeoff show: {path}: trial number 999999 would be named 'demo-999999',"
        f" not {path.stem!r}; move it away\n"
    )


def test_a_resumed_run_refuses_a_record_of_another_study_too(workdir: Path) -> None:
    path = first_record(workdir)
    edit(path, lambda r: r["spec"].update(study="other"))
    with pytest.raises(StoreError, match="a trial of study 'other', not of 'demo'"):
        FileStore(workdir).load_trials()


def test_forged_sampler_state_changes_nothing_and_is_named_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = FileStore(workdir).signing_key()
    paths = sorted((workdir / "trials").glob("*.json"))
    numbers = [json.loads(p.read_text())["spec"]["number"] for p in paths[:2]]
    signed = signing.sign(key, "demo", numbers[0], {"trial": {"NSGAIISampler:generation": 0}})
    edit(paths[0], lambda r: r["spec"].update(samplerState=signed))
    expected = [run(capsys, workdir, argv)[1] for argv in (["show"], ["export"], ["best"])]
    forged = {"trial": {"CmaEsSampler:optimizer": "gASVAAAA"}, "signature": "0" * 64}
    edit(paths[1], lambda r: r["spec"].update(samplerState=forged))
    for argv, before in zip((["show"], ["export"], ["best"]), expected, strict=True):
        code, out, err = run(capsys, workdir, argv)
        assert (code, out) == (0, before)
        assert err.splitlines()[0] == (
            f"warning: trial {paths[1].stem}: its sampler state is not signed by this"
            " study's key; the trial counts, its sampler state is ignored"
        )

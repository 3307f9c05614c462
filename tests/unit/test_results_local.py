"""Result commands on a local workdir: show, export (CSV, JSON, Optuna), best."""

from __future__ import annotations

import csv
import io
import json
import shlex
import subprocess
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import optuna
import pytest
import yaml

from tests.results_data import FRONT, INFEASIBLE, LONG, RECOMMENDED, TRIALS, write_workdir
from tradeoff import cli
from tradeoff.local.store import WorkdirLock
from tradeoff.results.best import env_name
from trial_runner.sklearn import build_parser


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # tables as wide as needed, whatever runs the test
    return write_workdir(tmp_path / ".tradeoff")


def test_show_prints_front_recommendation_and_totals(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "show", "demo")  # a name under .tradeoff/ in the cwd
    assert code == 0
    assert "Pareto front (3 trials)" in out
    for trial in FRONT:
        assert trial in out
    assert f"{RECOMMENDED} ★" in out
    assert "Study demo Succeeded (MaxTrialsReached): all 7 trials ran" in out
    assert "Trials: 7 created, 5 succeeded, 1 failed, 1 pruned" in out
    assert "Algorithm: random" in out
    code, again, _ = run(capsys, "show", str(workdir))  # the same study by its path
    assert code == 0 and again == out


@pytest.mark.parametrize("columns", ["60", "80", "120"])
def test_tables_never_cut_parameters_off(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    code, out, _ = run(capsys, "show", "demo")
    assert code == 0
    assert "…" not in out
    table = out.split("Recommended")[0]
    # Each cell's lines joined: every parameter of every front trial is there whole.
    cells = "".join(
        line.split("│")[-2].strip() for line in table.splitlines() if line.count("│") >= 4
    )
    for number, (params, _, _, _) in TRIALS.items():
        if f"demo-{number:04d}" in FRONT:
            for name, value in params.items():
                shown = f"{value:.3g}" if isinstance(value, float) else str(value)
                assert f"{name}={shown}" in cells, (name, cells)


def test_export_csv_has_one_row_per_trial(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "export", "demo", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["trial"] for r in rows] == [f"demo-{n:04d}" for n in TRIALS]
    by = {r["trial"]: r for r in rows}
    assert {t for t, r in by.items() if r["front"] == "True"} == FRONT
    assert by[RECOMMENDED]["recommended"] == "True"
    assert by[INFEASIBLE]["feasible"] == "False" and by[INFEASIBLE]["reason"] == "Infeasible"
    assert by["demo-0003"]["state"] == "Failed" and "boom" in by["demo-0003"]["message"]
    assert by["demo-0004"]["state"] == "Pruned"
    assert by["demo-0000"][f"param.{LONG}"] == "48"
    assert by["demo-0001"][f"param.{LONG}"] == ""  # inactive conditional parameter
    assert float(by["demo-0001"]["objective.cost"]) == pytest.approx(1e-5)
    assert float(by["demo-0001"]["economics.costUSD"]) == pytest.approx(1e-5)
    assert float(by["demo-0000"]["metric.f1"]) == pytest.approx(0.81)


def test_export_csv_writes_nested_economics_as_json(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "trials" / "demo-0000.json"
    record = json.loads(path.read_text())
    sources = {k: {"source": "estimated"} for k in ("energy", "prices", "intensity")}
    record["status"]["economics"]["sources"] = sources
    path.write_text(json.dumps(record))
    code, out, _ = run(capsys, "export", "demo", "--format", "csv")
    assert code == 0
    row = next(r for r in csv.DictReader(io.StringIO(out)) if r["trial"] == "demo-0000")
    assert json.loads(row["economics.sources"]) == sources  # JSON, not a Python dict's repr


def test_export_json_to_a_file(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out" / "trials.json"
    code, out, err = run(capsys, "export", "demo", "--format", "json", "-o", str(target))
    assert code == 0 and out == "" and "7 trials written" in err
    rows = json.loads(target.read_text())
    assert len(rows) == 7
    first = rows[0]
    assert first["parameters"] == {"model": "forest", LONG: 48, "C": 3.5}
    assert first["objectives"] == {"accuracy": 0.9, "cost": pytest.approx(3e-5)}
    assert first["economics"]["carbonGrams"] == pytest.approx(3e-5 * 14)
    assert first["state"] == "Succeeded" and first["front"] is True


def test_best_formats(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = TRIALS[int(RECOMMENDED[-4:])][0]
    code, out, err = run(capsys, "best", "demo")
    assert code == 0 and yaml.safe_load(out) == params and RECOMMENDED in err
    code, out, _ = run(capsys, "best", "demo", "--format", "json")
    assert json.loads(out) == params
    code, out, _ = run(capsys, "best", "demo", "--format", "env")
    shell = subprocess.run(
        ["bash", "-c", f'eval "$1"; echo "${env_name(LONG)}|$TRADEOFF_PARAMS"', "-", out],
        capture_output=True,
        text=True,
        check=True,
    )
    value, blob = shell.stdout.strip().split("|", 1)
    assert value == str(params[LONG]) and json.loads(blob) == params
    code, out, _ = run(capsys, "best", "demo", "--format", "args")
    tokens = shlex.split(out)
    assert tokens == [f"--{k}={v}" for k, v in params.items()]


def test_best_args_feed_the_builtin_workload(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "best", "demo", "--objective", "cost", "--format", "args")
    assert code == 0
    parsed = build_parser().parse_args(["--dataset=digits", *shlex.split(out)])
    assert parsed.model == "logreg" and pytest.approx(0.25) == parsed.C  # demo-0001


def test_best_for_an_objective_skips_infeasible_trials(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "best", "demo", "--objective", "cost", "--format", "json")
    assert code == 0 and "demo-0001" in err  # demo-0005 is cheaper but infeasible
    code, out, err = run(capsys, "best", "demo", "--objective", "accuracy", "--format", "json")
    assert json.loads(out) == TRIALS[6][0]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["show", "missing"], "missing: no such study workdir"),
        (["show", "."], ".: not a study workdir (no study.json)"),
        (["best", "demo", "--objective", "f2"], "--objective: demo has no objective 'f2'"),
        (["export", "demo", "--overwrite"], "--overwrite go with --optuna-storage"),
        (["report", "missing"], "missing: no such study workdir"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert expected in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_optuna_export_loads_back(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    code, _, err = run(capsys, "export", "demo", "--optuna-storage", url)
    assert code == 0 and "7 trials written to Optuna study 'demo'" in err
    study = optuna.load_study(study_name="demo", storage=url)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["accuracy", "cost"]
    assert study.user_attrs["tradeoff.recommended"] == RECOMMENDED
    states = {
        "Succeeded": optuna.trial.TrialState.COMPLETE,
        "Failed": optuna.trial.TrialState.FAIL,
        "Pruned": optuna.trial.TrialState.PRUNED,
    }
    assert len(study.trials) == len(TRIALS)
    for trial in study.trials:
        params, state, accuracy, cost = TRIALS[trial.number]
        assert trial.params == params
        assert trial.state == states[state]
        assert trial.user_attrs["trial"] == f"demo-{trial.number:04d}"
        assert trial.user_attrs["economics"]["costUSD"] == pytest.approx(cost)
        if state == "Succeeded":
            assert trial.values == [accuracy, pytest.approx(cost)]
        else:
            assert trial.values is None
    dist = study.trials[0].distributions
    assert isinstance(dist["C"], optuna.distributions.FloatDistribution) and dist["C"].log
    assert dist[LONG] == optuna.distributions.IntDistribution(2, 64)
    assert LONG not in study.trials[1].params  # inactive there
    assert study.trials[4].intermediate_values == {1: 0.3, 2: 0.35}
    # Optuna's own front agrees with the engine's (infeasible trial 5 left out).
    assert {t.number for t in study.best_trials} == {int(t[-4:]) for t in FRONT}
    infeasible = study.trials[int(INFEASIBLE[-4:])]
    assert infeasible.system_attrs["constraints"][0] > 0


def test_optuna_export_refuses_an_existing_study_unless_overwrite(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    assert run(capsys, "export", "demo", "--optuna-storage", url)[0] == 0
    code, _, err = run(capsys, "export", "demo", "--optuna-storage", url)
    assert code == 2 and "already holds a study named 'demo'" in err and "--overwrite" in err
    code, _, err = run(capsys, "export", "demo", "--optuna-storage", url, "--overwrite")
    assert code == 0
    assert len(optuna.load_study(study_name="demo", storage=url).trials) == len(TRIALS)
    code, _, err = run(capsys, "export", "demo", "--optuna-storage", "nosuch://db")
    assert code == 2 and "cannot open" in err


def test_list_shows_each_local_study_with_state_and_progress(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_workdir(tmp_path / ".tradeoff", "other", scale=1.05)
    (tmp_path / ".tradeoff" / "stray").mkdir()  # not a study: not listed
    code, out, _ = run(capsys, "list")
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("│ ") and "│ │" not in line]
    rows = [r for r in rows if r.split("│")[1].strip()]  # not a wrapped cell's next line
    assert [r.split("│")[1].strip() for r in rows] == ["demo", "other"]
    assert all("Succeeded" in r and "7/7" in r for r in rows)
    assert "demo-0000" in out and "accuracy 0.9, cost $3e-05" in out
    code, _, err = run(capsys, "list", "--root", str(tmp_path / "nowhere"))
    assert code == 2 and "no such directory" in err


def test_compare_puts_fronts_and_hypervolumes_side_by_side(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    better = write_workdir(tmp_path / ".tradeoff", "better", scale=1.05)
    code, out, _ = run(capsys, "compare", "demo", str(better))
    assert code == 0
    own = next(line for line in out.splitlines() if "hypervolume (own scale)" in line)
    shared = next(line for line in out.splitlines() if "hypervolume (shared scale)" in line)
    assert own.split("│")[2].strip() == own.split("│")[3].strip()  # the same shape
    a, b = (float(shared.split("│")[i]) for i in (2, 3))
    assert b > a  # every accuracy 5% higher at the same cost
    joint = [line for line in out.splitlines() if "◆" in line and "better-" in line]
    assert len(joint) == 3 and not any("demo-" in line and "◆" in line for line in out.splitlines())


def test_compare_refuses_different_objectives(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = write_workdir(tmp_path / ".tradeoff", "other")
    study_file = other / "study.json"
    doc = json.loads(study_file.read_text())
    doc["spec"]["objectives"][1]["direction"] = "maximize"
    study_file.write_text(json.dumps(doc))
    code, _, err = run(capsys, "compare", "demo", "other")
    assert code == 2 and "different objectives" in err


def test_report_writes_the_html_report(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "report", "demo")
    assert code == 0 and "demo-report.html" in err
    page = (tmp_path / "demo-report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "Study demo" in page
    assert all(f"demo-{n:04d}" in page for n in TRIALS)
    assert "MaxTrialsReached" in page
    assert "<h2>Parameter importance</h2>" in page and 'class="not-analysed"' not in page


def test_optuna_dashboard_opens_the_export(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """optuna-dashboard's own API (its WSGI app, as `optuna-dashboard URL` serves it)."""
    import optuna_dashboard

    url = f"sqlite:///{tmp_path / 'study.db'}"
    assert run(capsys, "export", "demo", "--optuna-storage", url)[0] == 0
    app = optuna_dashboard.wsgi(url)

    def get(path: str) -> Any:
        environ: dict[str, Any] = {}
        setup_testing_defaults(environ)
        environ["PATH_INFO"] = path
        status: list[str] = []
        body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))
        assert status == ["200 OK"], body[:300]
        return json.loads(body)

    studies = get("/api/studies")["study_summaries"]
    assert [s["study_name"] for s in studies] == ["demo"]
    detail = get(f"/api/studies/{studies[0]['study_id']}")
    assert detail["objective_names"] == ["accuracy", "cost"]
    assert [t["state"] for t in detail["trials"]] == [
        {"Succeeded": "Complete", "Failed": "Fail", "Pruned": "Pruned"}[s]
        for _, s, _, _ in TRIALS.values()
    ]
    names = {p["name"] for p in detail["union_search_space"]}
    assert names == {"model", LONG, "C"}
    # The dashboard's own front ignores constraints: it adds the infeasible trial 5.
    best = {t["number"] for t in detail["best_trials"]}
    assert best - {int(INFEASIBLE[-4:])} == {int(t[-4:]) for t in FRONT}


def test_an_unfinished_local_study_shows_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    workdir = write_workdir(tmp_path)
    record = workdir / "trials" / "demo-0006.json"
    doc = json.loads(record.read_text())
    doc["status"] = {"state": "Running", "attempts": 1}
    record.write_text(json.dumps(doc))
    code, out, _ = run(capsys, "show", str(workdir))
    assert code == 0
    assert "Study demo Interrupted (Interrupted): 6 of 7 trials finished" in out
    assert "rerun `tradeoff run`" in out
    with WorkdirLock(workdir):  # a run holds the workdir
        code, out, _ = run(capsys, "show", str(workdir))
    assert code == 0 and "Study demo Running" in out


def test_best_without_a_feasible_trial_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = write_workdir(tmp_path)
    for path in (workdir / "trials").glob("*.json"):
        doc = json.loads(path.read_text())
        doc["status"]["feasible"] = False  # every succeeded trial infeasible
        path.write_text(json.dumps(doc))
    for argv in (["best", str(workdir)], ["best", str(workdir), "--objective", "cost"]):
        code, out, err = run(capsys, *argv)
        assert code == 1 and out == ""
        assert "demo has no feasible succeeded trial yet" in err


def test_a_recorded_spec_that_no_longer_validates_is_named_by_its_field(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "study.json"
    saved = json.loads(path.read_text())
    saved["spec"]["budget"]["timeout"] = "99999999999999999999h"
    path.write_text(json.dumps(saved))
    code, out, err = run(capsys, "show", str(workdir))
    assert code == 2 and out == ""
    assert err == (
        f"tradeoff show: {path}: spec.budget.timeout: must be at most 3650d, ten years "
        "(got '99999999999999999999h') (written by another version?)\n"
    )


def test_a_record_edited_to_a_huge_trial_number_is_refused_in_one_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sampler's history keeps a place for every number up to the highest: 10**30 in
    one record took 5 GB and minutes before the number was bounded."""
    path = sorted((workdir / "trials").glob("*.json"))[0]
    record = json.loads(path.read_text())
    record["spec"]["number"] = 10**30
    path.write_text(json.dumps(record))
    code, out, err = run(capsys, "show", str(workdir))
    assert code == 2 and out == ""
    assert f"{path}: not a valid trial record (spec.number:" in err
    assert len(err.strip().splitlines()) == 1

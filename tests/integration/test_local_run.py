"""Local mode end to end: real studies with real subprocess trials."""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli import tradeoff
from tradeoff.api import AlgorithmChoice, Study, Trial
from tradeoff.api.study import StudySpec
from tradeoff.cli import main as cli_main
from tradeoff.engine import Summary, pareto_front, resolve_algorithm
from tradeoff.engine import validation as engine_validation
from tradeoff.engine.validation import validate_study
from tradeoff.local import FileStore, RunResult, StudyRunner

REPO = Path(__file__).resolve().parents[2]


def _study(name: str, spec: dict[str, Any]) -> Study:
    return validate_study(
        {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Study",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


def _python_trial(code: str, **template: Any) -> dict[str, Any]:
    """A trial template running ``code``, which reads its parameters from TRADEOFF_PARAMS."""
    prelude = "import json, os, sys, time\nP = json.loads(os.environ['TRADEOFF_PARAMS'])\n"
    prelude += "N = int(os.environ['TRADEOFF_TRIAL'].rsplit('-', 1)[1])\n"
    prelude += "def report(**m): print('TRADEOFF_METRICS', json.dumps(m), flush=True)\n"
    container = {"name": "trial", "command": ["python", "-c", prelude + code]}
    return {**template, "pod": {"containers": [container]}}


class Recorder:
    """A StudyObserver that remembers what it was told."""

    def __init__(self) -> None:
        self.finished: list[str] = []
        self.states: list[str] = []
        self.asks = 0
        self.algorithms: set[str] = set()

    def trial_finished(self, namespace: str, study: str, record: Trial) -> None:
        self.finished.append(record.metadata.name)

    def study_updated(
        self,
        namespace: str,
        study: str,
        spec: StudySpec,
        state: str,
        records: Sequence[Trial],
        summary: Summary,
    ) -> None:
        self.states.append(state)

    def insights_updated(self, namespace: str, study: str, insights: Sequence[Any]) -> None:
        pass

    def study_deleted(self, namespace: str, study: str) -> None:
        pass

    def suggest_latency(self, algorithm: str, seconds: float) -> None:
        self.asks += 1
        self.algorithms.add(algorithm)

    def reconcile_error(self, kind: str) -> None:
        pass


def _run(study: Study, workdir: Path, observer: Recorder | None = None) -> RunResult:
    return StudyRunner(study, FileStore(workdir), observer=observer, grace_seconds=1.0).run()


def test_a_real_study_of_the_builtin_workload(tmp_path: Path) -> None:
    study = _study(
        "digits",
        {
            "objectives": [
                {"name": "accuracy", "direction": "maximize"},
                {"name": "cost", "direction": "minimize"},
                {"name": "carbon", "direction": "minimize"},
            ],
            "parameters": [
                {"name": "model", "type": "categorical", "values": ["logreg", "knn"]},
                {
                    "name": "n_neighbors",
                    "type": "int",
                    "low": 1,
                    "high": 15,
                    "when": {"model": ["knn"]},
                },
                {"name": "data_fraction", "type": "float", "low": 0.2, "high": 1.0},
            ],
            "algorithm": {"name": "tpe", "seed": 3},
            "budget": {"maxTrials": 6, "parallelism": 2},
            "trialTemplate": {
                "activeDeadline": "1m",
                "pod": {
                    "containers": [
                        {
                            "name": "trial",
                            "command": ["python", "-m", "trial_runner.sklearn"],
                            "args": [
                                "--dataset=digits",
                                "--model=${params.model}",
                                "--n_neighbors=${params.n_neighbors}",
                                "--data_fraction=${params.data_fraction}",
                            ],
                            "resources": {"requests": {"cpu": "500m", "memory": "256Mi"}},
                        }
                    ]
                },
            },
        },
    )
    observer = Recorder()
    result = _run(study, tmp_path / "w", observer)
    assert (result.state, result.reason) == ("Succeeded", "MaxTrialsReached")
    records = FileStore(tmp_path / "w").load_trials()
    assert [r.number for r in records] == list(range(6))
    assert sorted(observer.finished) == [r.metadata.name for r in records]
    assert observer.asks >= 3 and observer.states[-1] == "Succeeded"
    for r in records:
        assert r.state == "Succeeded", r.status.message
        e = r.status.economics
        assert e is not None and e.source == "measured"
        assert e.cpu_seconds is not None and e.cpu_seconds > 0.2
        assert e.vcpu == 0.5 and e.memory_gib == 0.25
        assert r.status.values == [r.status.metrics["accuracy"], e.cost_usd, e.carbon_grams]
        assert 0.5 < r.status.metrics["accuracy"] <= 1.0
        assert "n_neighbors" in r.spec.parameters or r.spec.parameters["model"] == "logreg"
        assert (tmp_path / "w/logs" / f"{r.metadata.name}.log").stat().st_size > 0
    front = pareto_front(study.spec, records)
    assert {p.trial for p in result.summary.front} == {t.metadata.name for t in front}
    assert result.summary.recommended is not None
    assert result.summary.totals.cost_usd == pytest.approx(
        sum(r.status.economics.cost_usd for r in records if r.status.economics)
    )


def test_successive_halving_prunes_poor_learning_curves(tmp_path: Path) -> None:
    code = (
        "for step in range(1, 9):\n"
        "    report(step=step, score=P['x'] * step / 8)\n"
        "    time.sleep(0.05)\n"
        "report(score=P['x'])\n"
    )
    study = _study(
        "halving",
        {
            "objectives": [{"name": "score", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "algorithm": {"name": "random", "seed": 1},
            "earlyStopping": {
                "algorithm": "successive-halving",
                "settings": {"minResource": 1, "reductionFactor": 2},
            },
            "budget": {"maxTrials": 10, "parallelism": 1},
            "trialTemplate": _python_trial(code),
        },
    )
    result = _run(study, tmp_path)
    records = result.records
    pruned = [r for r in records if r.state == "Pruned"]
    assert pruned, [r.state for r in records]
    assert result.state == "Succeeded"
    for r in pruned:
        assert r.status.reason == "Pruned" and r.status.message is not None
        assert r.status.message.startswith("successive-halving stopped it at step")
        assert r.status.pruning_state, "the pruner's rung state is kept on the record"
        assert 1 <= len(r.status.intermediate) < 8
        assert r.status.economics is not None
    done = [r for r in records if r.state == "Succeeded"]
    assert all(len(r.status.intermediate) == 8 for r in done)
    # Pruned trials were worse than the best finished one when they stopped.
    best = max(float(r.spec.parameters["x"]) for r in done)
    assert all(float(r.spec.parameters["x"]) < best for r in pruned)


def test_failures_retries_and_the_failure_budget(tmp_path: Path) -> None:
    code = (
        "if P['kind'] == 'crash': sys.exit('boom: out of memory')\n"
        "if P['kind'] == 'silent': print('no metrics today')\n"
        "else: report(acc=0.5)\n"
    )
    study = _study(
        "failing",
        {
            "objectives": [{"name": "acc", "direction": "maximize"}],
            "parameters": [
                {"name": "kind", "type": "categorical", "values": ["crash", "silent"]},
                {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
            ],
            "algorithm": {"name": "random", "seed": 0},
            "budget": {"maxTrials": 10, "parallelism": 2, "maxFailedTrials": 3},
            "trialTemplate": _python_trial(code, retries=1),
        },
    )
    result = _run(study, tmp_path)
    assert (result.state, result.reason) == ("Failed", "TooManyFailedTrials")
    failed = [r for r in result.records if r.state == "Failed"]
    cancelled = [r for r in result.records if r.status.reason == "Cancelled"]
    assert len(failed) >= 3 and result.summary.counts.failed == len(failed)
    assert {r.state for r in result.records} <= {"Failed", "Pending"}
    assert all(r.state == "Pending" and r.status.failures <= 1 for r in cancelled)
    assert all(r.status.message == f"cancelled: {result.message}" for r in cancelled)
    for r in failed:
        assert r.status.attempts == r.status.failures == 2  # one retry each
        assert r.status.economics is not None and r.status.economics.duration_seconds > 0
        if r.spec.parameters["kind"] == "crash":
            assert r.status.reason == "Error"
            assert r.status.message == "exited with code 1: boom: out of memory"
        else:
            assert r.status.reason == "MetricsMissing"
            assert r.status.message is not None and "acc" in r.status.message


def test_deadline_and_goal_cancel_running_trials(tmp_path: Path) -> None:
    code = (
        "if N == 0: report(acc=0.99)\n"
        "elif N == 1: time.sleep(60)\n"
        "else: time.sleep(0.5); report(acc=0.1)\n"
    )
    study = _study(
        "goal",
        {
            "objectives": [{"name": "acc", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "algorithm": {"name": "random", "seed": 0},
            "goal": {"acc": 0.95},
            "budget": {"maxTrials": 10, "parallelism": 2},
            "trialTemplate": _python_trial(code, activeDeadline="30s"),
        },
    )
    result = _run(study, tmp_path)
    assert (result.state, result.reason) == ("Succeeded", "GoalReached")
    by_number = {r.number: r for r in result.records}
    assert by_number[0].state == "Succeeded"
    cancelled = by_number[1]
    assert (cancelled.state, cancelled.status.reason) == ("Pending", "Cancelled")
    assert cancelled.status.message == "cancelled: trial goal-0000 met the goal"
    assert cancelled.status.economics is not None  # it ran, so it cost something

    slow = _study(
        "deadline",
        {
            "objectives": [{"name": "acc", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "budget": {"maxTrials": 1, "maxFailedTrials": 1},
            "trialTemplate": _python_trial("time.sleep(60)", activeDeadline="1s"),
        },
    )
    result = _run(slow, tmp_path / "slow")
    record = result.records[0]
    assert (record.state, record.status.reason) == ("Failed", "DeadlineExceeded")
    assert result.state == "Failed"


def test_the_study_timeout_stops_running_trials(tmp_path: Path) -> None:
    study = _study(
        "timeout",
        {
            "objectives": [{"name": "acc", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "budget": {"maxTrials": 5, "parallelism": 2, "timeout": "2s"},
            "trialTemplate": _python_trial("time.sleep(60)"),
        },
    )
    result = _run(study, tmp_path)
    assert result.state == "Failed" and result.reason == "NoTrialSucceeded"
    assert "timeout of 2s ran out" in result.message
    assert [(r.state, r.status.reason, r.status.message) for r in result.records] == [
        ("Pending", "Cancelled", f"cancelled: {result.message}")
    ] * 2
    assert result.summary.counts.cancelled == 2 and result.summary.counts.failed == 0


def test_the_timeout_counts_from_the_first_start(tmp_path: Path) -> None:
    study = _study(
        "resumed-late",
        {
            "objectives": [{"name": "acc", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "budget": {"maxTrials": 5, "timeout": "1m"},
            "trialTemplate": _python_trial("report(acc=0.5)"),
        },
    )
    FileStore(tmp_path).open(study, now=datetime.now(UTC) - timedelta(hours=1))
    result = _run(study, tmp_path)
    assert (result.state, result.reason) == ("Failed", "NoTrialSucceeded")
    assert "timeout of 1m ran out" in result.message
    assert result.records == []


def test_the_command_prints_the_front_writes_the_report_and_exits_0(tmp_path: Path) -> None:
    manifest = tmp_path / "study.yaml"
    manifest.write_text(
        """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: cli}
spec:
  objectives: [{name: acc, direction: maximize}, {name: size, direction: minimize}]
  parameters: [{name: x, type: float, low: 0.0, high: 1.0}]
  algorithm: {name: random, seed: 2}
  budget: {maxTrials: 5, parallelism: 2}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - "import sys; x = float(sys.argv[1]); print(f'acc={x} size={x * x}')"
            - "${params.x}"
"""
    )
    report_path = tmp_path / "out" / "report.html"
    done = tradeoff(
        "run",
        str(manifest),
        "--no-progress",
        "--region",
        "eu-north-1",
        "--report",
        str(report_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Pareto front (5 trials)" in done.stdout
    assert "Algorithm: random (set in spec.algorithm.name)" in done.stdout
    assert done.stderr.startswith("Algorithm: random (set in spec.algorithm.name)\n")
    assert "Recommended (knee): cli-" in done.stdout
    assert "Study cli Succeeded (MaxTrialsReached): all 5 trials ran" in done.stdout
    assert done.stderr.count("✓ cli-") == 5
    assert f"Report: {report_path}" in done.stdout.replace("\n", "")
    report = report_path.read_text()
    assert "cli-0004" in report and 'data-chart="acc vs size"' in report
    assert "<dt>Algorithm</dt><dd>random (set in spec.algorithm.name)</dd>" in report
    assert report.count('class="not-analysed"') == 2  # insights and importance: --insights
    assert report.startswith("<!DOCTYPE html>") and "<svg" in report and "<script" not in report
    linked = re.sub(r'href="data:[^"]*"', "", report)  # downloads: base64 inside the file
    assert "http" not in linked.replace('xmlns="http://www.w3.org/2000/svg"', "")
    record = FileStore(tmp_path / ".tradeoff/cli").load_trials()[0]
    assert record.status.economics is not None
    assert record.status.economics.grams_per_kwh == 8.8  # eu-north-1
    # Running it again resumes a finished study: nothing runs, same outcome; --insights
    # adds the insights and importance to the report.
    again = tradeoff(
        "run",
        str(manifest),
        "--quiet",
        "--insights",
        "--report",
        str(report_path),
        cwd=tmp_path,
        timeout=60,
    )
    assert again.returncode == 0
    assert again.stdout.strip() == "Study cli Succeeded (MaxTrialsReached): all 5 trials ran"
    analysed = report_path.read_text()
    assert 'class="not-analysed"' not in analysed
    assert 'data-chart="importance for acc"' in analysed


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        "apiVersion: tradeoff.dev/v1alpha1\nkind: Study\nmetadata: {name: bad}\n"
        "spec: {objectives: [], parameters: [], trialTemplate: {pod: {containers: []}}}\n"
    )
    done = tradeoff("run", str(manifest), cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "spec.objectives" in done.stderr
    good = REPO / "examples" / "quickstart.yaml"
    done = tradeoff("run", str(good), "--region", "atlantis-1", cwd=tmp_path, timeout=60)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert "--region: unknown region 'atlantis-1'" in done.stderr
    assert not (tmp_path / ".tradeoff").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_metrics_port_serves_prometheus_metrics_while_running(tmp_path: Path) -> None:
    manifest = tmp_path / "study.yaml"
    manifest.write_text(
        """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: scraped}
spec:
  objectives: [{name: acc, direction: maximize}]
  parameters: [{name: x, type: float, low: 0.0, high: 1.0}]
  budget: {maxTrials: 3, parallelism: 1}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c, "import time; time.sleep(1); print('acc=0.5')"]
"""
    )
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO)])}
    argv = [sys.executable, "-m", "tradeoff.cli", "run", str(manifest), "--quiet"]
    run = subprocess.Popen(
        [*argv, "--metrics-port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    scraped = ""
    try:
        end = time.monotonic() + 30
        while time.monotonic() < end and 'study="scraped"' not in scraped:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                    scraped = r.read().decode()
            except OSError:
                time.sleep(0.2)
        _, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    assert 'tradeoff_trials{namespace="local",state="Running",study="scraped"}' in scraped
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        done = tradeoff(
            "run",
            str(manifest),
            "--metrics-port",
            str(busy.getsockname()[1]),
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        busy.close()
    assert done.returncode == 2
    assert done.stderr.startswith("tradeoff run: --metrics-port: cannot listen on 127.0.0.1:")


AUTO_SPEC: dict[str, Any] = {
    "objectives": [{"name": "acc", "direction": "maximize"}],
    "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
    "algorithm": {"name": "auto", "seed": 5},
    "budget": {"maxTrials": 2},
    "trialTemplate": _python_trial("report(acc=P['x'])"),
}


def test_the_recorded_algorithm_survives_a_resume_in_another_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = AlgorithmChoice(name="qmc", reason="auto: another environment")
    with monkeypatch.context() as patched:  # where the study starts, auto means qmc
        patched.setattr(engine_validation, "resolve_algorithm", lambda spec: elsewhere)
        first = _run(_study("moved", AUTO_SPEC), tmp_path)
    assert first.algorithm is not None and first.algorithm.name == "qmc"
    assert first.algorithm.resolved_at is not None
    assert FileStore(tmp_path).read_study().algorithm == first.algorithm
    resumed = _study("moved", {**AUTO_SPEC, "budget": {"maxTrials": 4}})
    assert resolve_algorithm(resumed.spec).name != "qmc"  # here auto means gp or tpe
    observer = Recorder()
    again = _run(resumed, tmp_path, observer)
    assert again.state == "Succeeded" and len(again.records) == 4
    assert again.algorithm == first.algorithm
    assert observer.algorithms == {"qmc"}  # every ask of the resumed run used qmc
    assert FileStore(tmp_path).read_study().algorithm == first.algorithm


def test_a_recorded_algorithm_that_cannot_run_here_stops_the_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = tmp_path / "study.yaml"
    document = {"apiVersion": "tradeoff.dev/v1alpha1", "kind": "Study", "spec": AUTO_SPEC}
    manifest.write_text(yaml.safe_dump({**document, "metadata": {"name": "gone"}}))
    workdir = tmp_path / "work"
    store = FileStore(workdir)
    store.open(_study("gone", AUTO_SPEC))  # started where PyTorch was installed: gp
    gp = AlgorithmChoice(name="gp", reason="auto: numeric", resolved_at=datetime.now(UTC))
    store.record_algorithm(gp)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    code = cli_main(["run", str(manifest), "--workdir", str(workdir), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"tradeoff run: {workdir / 'study.json'}: gp, chosen when the study started, cannot run"
        " here: gp needs PyTorch: pip install 'tradeoff[gp]' (or start afresh with another"
        " --workdir)\n"
    )
    assert store.load_trials() == [] and store.read_study().algorithm == gp

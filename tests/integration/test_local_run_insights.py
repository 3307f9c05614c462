"""A local run's insights as the operator keeps a Study's: computed at milestones, exported
as the importance gauge, kept in the workdir's status, announced once across resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from tests.cli import REPO, tradeoff
from tests.integration.test_local_run import _free_port
from tradeoff.engine.insights import insights
from tradeoff.local.status_file import STATUS_FILE
from tradeoff.local.store import FileStore
from tradeoff.validate import load_study

GAUGE = (
    'tradeoff_parameter_importance{namespace="local",objective="acc",parameter="x",study="seen"}'
)


def _manifest(tmp_path: Path, max_trials: int) -> Path:
    """Trials whose acc is their x; trial 6 waits for the file `go` (at most a minute)."""
    go = tmp_path / "go"
    code = (
        "import json, os, time\n"
        "P = json.loads(os.environ['TRADEOFF_PARAMS'])\n"
        "n = int(os.environ['TRADEOFF_TRIAL'].rsplit('-', 1)[1])\n"
        "end = time.time() + 60\n"
        f"while n == 6 and not os.path.exists({str(go)!r}) and time.time() < end:\n"
        "    time.sleep(0.05)\n"
        "print('acc=%s' % P['x'])\n"
    )
    study = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "seen"},
        "spec": {
            "objectives": [{"name": "acc", "direction": "maximize"}],
            "parameters": [
                {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
                {"name": "z", "type": "float", "low": 0.0, "high": 1.0},
            ],
            "algorithm": {"name": "random", "seed": 7},
            "budget": {"maxTrials": max_trials, "parallelism": 1},
            "trialTemplate": {
                "pod": {"containers": [{"name": "t", "command": ["python", "-c", code]}]}
            },
        },
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def _scrape(port: int, run: subprocess.Popen[str], wanted: str) -> str:
    scraped = ""
    end = time.monotonic() + 90
    while time.monotonic() < end and wanted not in scraped and run.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                scraped = r.read().decode()
        except OSError:
            pass
        time.sleep(0.2)
    return scraped


def _announced(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("insight: ")]


def test_the_gauge_the_status_and_one_announcement_across_an_interrupted_run(
    tmp_path: Path,
) -> None:
    manifest = _manifest(tmp_path, max_trials=8)
    workdir = tmp_path / ".tradeoff" / "seen"
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO)])}
    argv = [sys.executable, "-m", "tradeoff.cli", "run", str(manifest), "--no-progress"]
    run = subprocess.Popen(
        [*argv, "--metrics-port", str(port)],
        cwd=tmp_path,
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Trial 6 waits: the insights of the first milestone (5 trials) are exported.
        scraped = _scrape(port, run, GAUGE)
        status = json.loads((workdir / STATUS_FILE).read_text())
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 130, err
    assert GAUGE in scraped
    assert 'parameter="z",study="seen"' in scraped
    assert status["insightsFrom"] == 5
    assert [i["kind"] for i in status["insights"]][:1] == ["importance"]
    first = _announced(err)
    assert first == [f"insight: {status['insights'][0]['message']}"]

    (tmp_path / "go").touch()
    resumed = tradeoff("run", str(manifest), "--no-progress", "--insights", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert _announced(resumed.stderr) == []  # the importance of acc was announced before
    final = json.loads((workdir / STATUS_FILE).read_text())
    records = FileStore(workdir).load_trials()
    assert final["insightsFrom"] == len(records) == 8
    # The insights an uninterrupted run computes from the same records.
    spec = load_study(str(manifest)).spec
    assert final["insights"] == [i.wire() for i in insights(spec, records)[:10]]
    assert "fANOVA over 8 trials" in final["insights"][0]["message"]


def test_a_run_without_insights_or_metrics_computes_none(tmp_path: Path) -> None:
    """Live insights cost a second of CPU per milestone: only when asked for."""
    manifest = _manifest(tmp_path, max_trials=6)
    done = tradeoff("run", str(manifest), "--no-progress", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _announced(done.stderr) == []
    assert not (tmp_path / ".tradeoff" / "seen" / STATUS_FILE).exists()

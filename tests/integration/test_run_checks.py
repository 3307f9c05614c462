"""`tradeoff run` checks its flags before a study starts, and a report it cannot write
at the end costs one line, never the study."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

MANIFEST = """
apiVersion: tradeoff.dev/v1alpha1
kind: Study
metadata: {name: checked}
spec:
  objectives: [{name: score, direction: maximize}]
  parameters: [{name: x, type: float, low: 0.0, high: 1.0}]
  algorithm: {name: random, seed: 2}
  budget: {maxTrials: 2, parallelism: 2}
  trialTemplate:
    pod:
      containers:
        - name: trial
          command: [python, -c]
          args:
            - "import sys, time; time.sleep(1.5); print('score=' + sys.argv[1])"
            - "${params.x}"
"""


def _start(tmp: Path, *flags: str) -> subprocess.Popen[str]:
    (tmp / "study.yaml").write_text(MANIFEST)
    path = os.pathsep.join([str(REPO / "operator"), str(REPO)])
    command = [sys.executable, "-m", "tradeoff.cli", "run", "study.yaml", "--workdir", "w"]
    return subprocess.Popen(
        [*command, "--no-progress", *flags],
        cwd=tmp,
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--metrics-port", "70000"], "--metrics-port: 70000 is not a TCP port (1..65535)"),
        (["--metrics-port", "0"], "--metrics-port: 0 is not a TCP port (1..65535)"),
        (
            ["--report", "out"],
            "--report: out is a directory; give a file name, e.g. out/report.html",
        ),
        (["--report", "study.yaml/report.html"], "is not a directory"),
    ],
    ids=["port-too-high", "port-zero", "report-is-a-directory", "report-under-a-file"],
)
def test_bad_flags_are_one_line_before_anything_runs(
    tmp_path: Path, flags: list[str], message: str
) -> None:
    (tmp_path / "out").mkdir()
    run = _start(tmp_path, *flags)
    out, err = run.communicate(timeout=30)
    assert run.returncode == 2
    assert err.startswith("tradeoff run: ") and err.count("\n") == 1, err
    assert message in err
    assert out == ""
    assert not (tmp_path / "w").exists(), "nothing started"


def test_a_report_that_cannot_be_written_keeps_the_study(tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    run = _start(tmp_path, "--report", str(report))
    try:
        end = time.monotonic() + 20
        while not list((tmp_path / "w" / "trials").glob("*.json")):
            assert time.monotonic() < end, "no trial started"
            time.sleep(0.05)
        report.mkdir()  # the path was fine when checked; now writing it fails
        out, err = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 0, err
    (line,) = [x for x in err.splitlines() if "report" in x]
    assert line.startswith(f"tradeoff run: cannot write the report to {report} (")
    assert line.endswith(
        "the study's records are kept in w: rerun with another --report to write it"
    )
    assert "Traceback" not in err
    assert "Study checked Succeeded" in out and "Records: w" in out and "Report:" not in out
    records = [json.loads(p.read_text()) for p in (tmp_path / "w" / "trials").glob("*.json")]
    assert len(records) == 2 and all(r["status"]["state"] == "Succeeded" for r in records)
    # Rerunning writes the report from the records without running a trial again.
    report.rmdir()
    again = _start(tmp_path, "--report", str(report))
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert report.is_file() and "✓" not in err

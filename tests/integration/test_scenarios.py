"""The scenario table (tests/scenarios.py) through local mode: `tradeoff run` per scenario."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.scenarios import SCENARIOS, Scenario, check

REPO = Path(__file__).resolve().parents[2]
HEADLINE = re.compile(r"^Study (\S+) (\w+) \((\w+)\): (.*)$", re.MULTILINE)

pytestmark = pytest.mark.timeout(240)


def run_scenario(scenario: Scenario, tmp: Path) -> list[str]:
    """Run one scenario with `tradeoff run`; what differs from the table."""
    folder = tmp / scenario.name
    markers = folder / "markers"
    markers.mkdir(parents=True)
    manifest = folder / "study.yaml"
    manifest.write_text(yaml.safe_dump(scenario.manifest(str(markers))))
    path = os.pathsep.join([str(REPO / "operator"), str(REPO)])
    env = {**os.environ, "PYTHONPATH": path, "COLUMNS": "1000"}  # the headline on one line
    done = subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", "run", "study.yaml", "--workdir", "w", "--quiet"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    found = HEADLINE.search(done.stdout)
    if found is None or "Traceback" in done.stderr:
        return [f"{scenario.name}: exit {done.returncode}: {done.stdout} {done.stderr}"]
    expected_exit = 0 if found[2] == "Succeeded" else 1
    problems = [] if done.returncode == expected_exit else [f"{scenario.name}: exit code"]
    trials: dict[int, dict[str, Any]] = {}
    for path in (folder / "w" / "trials").glob("*.json"):
        record = json.loads(path.read_text())
        trials[record["spec"]["number"]] = record["status"]
    failed = sum(1 for s in trials.values() if s["state"] == "Failed")
    return problems + check(scenario, (found[2], found[3], found[4]), trials, failed)


def test_every_scenario_ends_as_the_table_says_in_local_mode(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda s: run_scenario(s, tmp_path), SCENARIOS))
    problems = [p for found in results for p in found]
    assert not problems, "\n".join(problems)

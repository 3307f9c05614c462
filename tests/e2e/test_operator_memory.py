"""What trials print does not cost the operator memory, nor reach users unfiltered: the
real operator against the emulator, trials printing 20 MB each (a long line without
newline, then short lines, metrics in between), and a failing trial's last words. The
full measurement, 8 trials of 50 MB at once, is the benchmark
`benchmarks/operator_memory.py` (recorded in benchmarks/results/operator_memory.json)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import REPO, Operator, apply, events, study_manifest, trials, wait_study

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def benchmark() -> ModuleType:
    path = REPO / "benchmarks" / "operator_memory.py"
    spec = importlib.util.spec_from_file_location("bench_operator_memory", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_two_trials_printing_20_mb_each_cost_the_operator_little(tmp_path: Path) -> None:
    bench = benchmark()
    result = bench.run(2, 20.0, 120.0, tmp_path, {})
    assert result["study_state"] == "Succeeded"
    for outcome in result["outcomes"]:
        assert outcome["state"] == "Succeeded" and outcome["right"], outcome
        assert outcome["intermediate"] == 3, outcome  # every epoch line, after 10 MB of one line
    assert result["rss_mib_peak"] < bench.LIMIT_MIB
    # Reading each log whole cost 113 MiB here; parsing as it streams costs a few.
    assert result["peak_growth_mib"] < 40, result


def test_a_failed_trials_words_reach_its_status_short_and_clean(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    # What a failing container last prints becomes the termination message (the pods use
    # FallbackToLogsOnError): colours, a terminal title, bells and a 20,000-character line.
    code = (
        "import sys\n"
        "sys.stderr.write('\\x1b[1;31mFATAL\\x1b[0m ' + 'x' * 20000 + "
        "' \\x1b]0;owned\\x07\\x08\\x00 the end\\r\\n')\n"
        "sys.exit(2)\n"
    )
    operator()
    manifest = study_manifest("loud", code=code, budget={"maxTrials": 1, "maxFailedTrials": 1})
    assert apply(cluster, manifest).returncode == 0
    wait_study(cluster, "loud", timeout=60)
    (trial,) = trials(cluster, "loud")
    message = trial["status"]["message"]
    assert message.startswith("exited with code 2: ")  # as in local mode
    assert len(message) <= len("exited with code 2: ") + 300
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in message), repr(message)
    said = [e["message"] for e in events(cluster, "loud-0000") if e["reason"] == "TrialFailed"]
    assert said and all(m.endswith(message) and len(m) < 400 for m in said)

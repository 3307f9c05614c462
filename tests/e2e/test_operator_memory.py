"""The operator's memory does not follow what trials print: the real operator against the
emulator, trials printing 20 MB each (a long line without newline, then short lines,
metrics in between). The full measurement, 8 trials of 50 MB at once, is the benchmark
`benchmarks/operator_memory.py` (recorded in benchmarks/results/operator_memory.json)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.e2e.helpers import REPO

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

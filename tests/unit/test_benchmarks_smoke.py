"""Each benchmark's --quick mode runs end to end and writes valid JSON (no timing checks)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
QUICK = [
    "mo_efficiency",
    "katib_backends",
    "tuned_vs_default",
    "tradeoff_value",
    "pruning",
    "overhead",
    "engine_scale",
]
EXTRA_ARGS = {"overhead": ["--parts", "latency"]}
"""Part (a) starts `tradeoff run` processes; the local-mode tests cover that path."""


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.parametrize("name", QUICK)
def test_quick_mode_writes_results(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _load(name)
    assert module.main(["--quick", "--out", str(tmp_path), *EXTRA_ARGS.get(name, [])]) == 0
    document = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
    assert document["benchmark"] == name
    assert {"date", "python", "cpus"} <= set(document["machine"])
    assert "|" in capsys.readouterr().out  # a results table was printed


def test_benchmark_list_is_complete() -> None:
    scripts = {p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_")}
    scripts.discard("operator_scale")  # needs the API emulator and the operator: not a quick run
    scripts.discard("operator_memory")  # its small run is tests/e2e/test_operator_memory.py
    scripts.discard("operator_faults")  # its small runs are tests/e2e/test_operator_faults.py
    assert scripts == set(QUICK), "every benchmark needs a --quick smoke test here"


def test_results_are_written_where_asked(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import _common
    finally:
        sys.path.remove(str(BENCHMARKS))
    path = _common.write_results(tmp_path, "example", {"value": 1})
    assert json.loads(path.read_text(encoding="utf-8"))["value"] == 1
    assert _common.stats([1.0, 2.0, 3.0, None, float("nan")]) == {
        "median": 2.0,
        "q1": 1.5,
        "q3": 2.5,
        "n": 3,
    }
    assert _common.first_reaching([0.1, 0.5, 0.9], 0.5, maximize=True) == 2
    assert _common.first_reaching([3.0, 2.0], 1.0, maximize=False) is None

"""Each benchmark's --quick mode runs end to end and writes valid JSON (no timing checks)."""

from __future__ import annotations

import importlib.util
import json
import os
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
    "cold_rebuild",
    "nsga2_ask",
    "warm_start",
    "warm_start_top",
    "local_scale",
    "local_insights",
    "auto_history",
    "carbon_aware",
    "pipeline_dag",
    "ensemble",
    "artifact_upload",
]
EXTRA_ARGS = {
    "overhead": ["--parts", "latency"],
    "local_scale": ["--trial", "printf", "--samplers", "random", "--parallelism", "2"],
    "pipeline_dag": ["--datasets", "breast_cancer"],
    "ensemble": ["--datasets", "iris"],
}
"""Part (a) of overhead starts `tradeoff run` processes; the local-mode tests cover that
path (local_scale runs a small one: 20 `printf` trials)."""


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
    ours = {k: v for k, v in os.environ.items() if k.startswith("TRADEOFF_")}
    assert module.main(["--quick", "--out", str(tmp_path), *EXTRA_ARGS.get(name, [])]) == 0
    # The suite's process goes on after it: no trial's variable may stay behind.
    assert {k: v for k, v in os.environ.items() if k.startswith("TRADEOFF_")} == ours
    document = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
    assert document["benchmark"] == name
    assert {"date", "python", "cpus"} <= set(document["machine"])
    assert "|" in capsys.readouterr().out  # a results table was printed


def test_benchmark_list_is_complete() -> None:
    scripts = {p.stem for p in BENCHMARKS.glob("*.py") if not p.stem.startswith("_")}
    scripts.discard("operator_scale")  # needs the API emulator and the operator: not a quick run
    scripts.discard("operator_memory")  # its small run is tests/e2e/test_operator_memory.py
    scripts.discard("operator_faults")  # its small runs are tests/e2e/test_operator_faults.py
    scripts.discard("operator_restart")  # its small run is in tests/e2e/test_operator_scale.py
    # Runs the whole quickstart; its small check is tests/integration/test_quickstart_tradeoff.py.
    scripts.discard("quickstart_spread")
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


@pytest.mark.slow
def test_variants_and_plain_optuna_compare_with_p_values(tmp_path: Path) -> None:
    """Named variants and the plain-Optuna reference run side by side, asked in batches."""
    module = _load("mo_efficiency")
    argv = ["--quick", "--out", str(tmp_path), "--problems", "zdt1", "--batch", "3"]
    argv += ["--samplers", "tpe-uni,tpe-multi,optuna-tpe", "--baseline", "tpe-multi", "--at", "6"]
    assert module.main(argv) == 0
    document = json.loads((tmp_path / "mo_efficiency.json").read_text(encoding="utf-8"))
    samplers = document["problems"]["zdt1"]["samplers"]
    assert set(samplers) == {"tpe-uni", "tpe-multi", "optuna-tpe"}
    assert samplers["tpe-multi"]["p_final_hv"] is None  # the baseline itself
    assert samplers["tpe-uni"]["p_final_hv"] is not None
    assert samplers["optuna-tpe"]["hv_at"]["6"]["n"] == 1
    assert document["batch"] == 3


def test_variants_set_the_sampler_and_optuna_runs_plain_optuna() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import _common
    finally:
        sys.path.remove(str(BENCHMARKS))
    space = [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}]
    spec = _common.study_spec(space, [("y", "minimize")], "tpe-uni", 0, 5)
    assert spec.algorithm.name == "tpe"
    assert spec.algorithm.settings["multivariate"] is False
    plain_spec = _common.study_spec(space, [("y", "minimize")], "optuna-tpe", 0, 5)
    assert plain_spec.algorithm.settings == {}

    def evaluate(p: dict[str, object]) -> tuple[dict[str, float], None]:
        return {"y": (float(p["x"]) - 0.3) ** 2}, None  # type: ignore[arg-type]

    engine_run = _common.search("tpe-uni", space, [("y", "minimize")], evaluate, 0, 12, batch=2)
    plain = _common.search("optuna-tpe", space, [("y", "minimize")], evaluate, 0, 12)
    assert [r.number for r in plain] == list(range(12))
    assert all(r.state == "Succeeded" for r in engine_run + plain)
    # Different proposers with the same seed: the plain run is not the engine's in disguise.
    assert [r.spec.parameters for r in plain] != [r.spec.parameters for r in engine_run]
    assert _common.mann_whitney([1.0, 2.0, 3.0], [10.0, 11.0, 12.0]) == pytest.approx(0.1)
    assert _common.mann_whitney([1.0], [None]) is None


@pytest.mark.slow
def test_warm_start_measures_two_objective_cash_by_hypervolume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--cash-cost` (skipped by --quick, whose CASH trials take seconds): hypervolume
    curves that never fall, scaled over the run's points so that none exceeds 1."""
    module = _load("warm_start")
    argv = ["--tasks", "cash", "--cash", "iris:wine", "--cash-cost", "--trials", "4"]
    assert module.main([*argv, "--seeds", "2", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "warm_start.json").read_text(encoding="utf-8"))
    assert document["cash_cost"] is True
    for run in document["runs"]["cash"]:
        for curve in (run["cold"], run["warm"]):
            assert len(curve) == 4 and curve == sorted(curve) and 0 < curve[-1] <= 1
        assert len(run["cold_losses"][0]) == 2  # accuracy and cost
    assert "|" in capsys.readouterr().out


@pytest.mark.slow
def test_engine_scale_times_the_operators_warm_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--mode plan` (not the --quick default): it broke unseen when maxTrials was bounded."""
    module = _load("engine_scale")
    assert module.main(["--mode", "plan", "--quick", "--out", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "engine_scale.json").read_text(encoding="utf-8"))
    assert document["benchmark"] == "engine_scale"
    assert "Warm operator passes" in capsys.readouterr().out

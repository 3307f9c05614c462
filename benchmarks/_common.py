"""Shared helpers of the benchmarks: specs, the ask/evaluate/record loop, statistics, output.

Every benchmark is one command (``python benchmarks/NAME.py [--quick]``) that prints a
table and writes ``benchmarks/results/NAME.json`` (``--quick`` writes under
``benchmarks/results/quick/`` unless ``--out`` says otherwise, so the recorded results
stay untouched).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# One thread per process: the machine is shared and timings must compare like with like.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from tradeoff.api import Trial  # noqa: E402
from tradeoff.api.economics import TrialEconomics  # noqa: E402
from tradeoff.api.study import StudySpec  # noqa: E402
from tradeoff.engine.core import Engine  # noqa: E402
from tradeoff.engine.validation import validate_study  # noqa: E402

_STARTED = time.perf_counter()
BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
STUDY = "bench"

Evaluator = Callable[[dict[str, Any]], tuple[dict[str, float], TrialEconomics | None]]


# -- command line and output -----------------------------------------------------------


def parse_args(
    argv: Sequence[str] | None,
    description: str,
    extra: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """``--quick``, ``--seeds``, ``--out`` and whatever ``extra`` adds."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny budget (smoke test)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds")
    parser.add_argument("--out", type=Path, default=None, help="directory for JSON and plots")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = RESULTS_DIR / "quick" if args.quick else RESULTS_DIR
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def machine_info() -> dict[str, Any]:
    """Where and when the numbers were taken."""
    import optuna
    import sklearn

    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in load],
        "optuna": optuna.__version__,
        "scikit_learn": sklearn.__version__,
        "numpy": np.__version__,
        "wall_seconds": round(time.perf_counter() - _STARTED, 1),
        "cpu_seconds_of_this_process": round(time.process_time(), 1),
    }


def write_results(out: Path, name: str, payload: Mapping[str, Any]) -> Path:
    """``out/NAME.json`` with the machine info added; returns its path."""
    path = out / f"{name}.json"
    document = {"benchmark": name, "machine": machine_info(), **payload}
    path.write_text(json.dumps(document, indent=2, default=_json_default) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table (it also reads well in logs and in BENCHMARKS.md)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def stats(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Median, quartiles and count of the finite values (None when there are none)."""
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if finite.size == 0:
        return {"median": None, "q1": None, "q3": None, "n": 0}
    q1, med, q3 = np.percentile(finite, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "n": int(finite.size)}


def show(s: Mapping[str, Any], digits: int = 3, total: int | None = None) -> str:
    """``median [q1, q3]``; with ``total``, how many of the runs the statistic covers."""
    if s["median"] is None:
        return "never" if total else "-"
    text = f"{s['median']:.{digits}g} [{s['q1']:.{digits}g}, {s['q3']:.{digits}g}]"
    if total is not None and s["n"] < total:
        text += f" ({s['n']}/{total})"
    return text


def savefig(fig: Any, out: Path, name: str) -> Path:
    path = out / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    print(f"wrote {path}")
    return path


# -- studies and the ask/evaluate/record loop ---------------------------------------------


VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "tpe-uni": ("tpe", {"multivariate": False, "group": False, "constantLiar": True}),
    "tpe-uni-noliar": ("tpe", {"multivariate": False, "group": False, "constantLiar": False}),
    "tpe-multi": ("tpe", {"multivariate": True, "group": True, "constantLiar": True}),
    "tpe-multi-nogroup": ("tpe", {"multivariate": True, "group": False, "constantLiar": True}),
    "tpe-multi-noliar": ("tpe", {"multivariate": True, "group": True, "constantLiar": False}),
}
"""Named sampler variants: an algorithm with every setting that differs between them
spelt out, so a comparison does not move when the engine's defaults do. ``tpe-multi`` is
the engine's TPE default before the benchmarks of BENCHMARKS.md section 8 (``group`` has
no effect on an unconditional space). A name ``optuna-X`` runs variant or algorithm ``X``
on a plain Optuna study instead of the Engine, with Optuna's defaults for every setting
the variant leaves out (``optuna-tpe`` is Optuna's own default TPE)."""

RAW = "optuna-"


def algorithm_of(name: str) -> tuple[str, dict[str, Any]]:
    """The algorithm and settings of a sampler or variant name (without ``optuna-``)."""
    return VARIANTS.get(name, (name, {}))


def study_spec(
    parameters: Sequence[Mapping[str, Any]],
    objectives: Sequence[tuple[str, str]],
    algorithm: str,
    seed: int,
    max_trials: int,
    **extra: Any,
) -> StudySpec:
    """A StudySpec from a manifest built the way a user writes one; ``algorithm`` may be a
    variant name (``VARIANTS``)."""
    name, settings = algorithm_of(algorithm.removeprefix(RAW))
    manifest = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": STUDY},
        "spec": {
            "objectives": [{"name": n, "direction": d} for n, d in objectives],
            "parameters": list(parameters),
            "algorithm": {"name": name, "seed": seed, "settings": settings},
            "budget": {"maxTrials": max_trials},
            "trialTemplate": {
                "pod": {"containers": [{"name": "trial", "image": "bench", "command": ["true"]}]}
            },
            **extra,
        },
    }
    return validate_study(manifest).spec


def float_params(
    n: int, low: float = 0.0, high: float = 1.0, prefix: str = "x"
) -> list[dict[str, Any]]:
    return [{"name": f"{prefix}{i}", "type": "float", "low": low, "high": high} for i in range(n)]


def record_result(
    engine: Engine,
    record: Trial,
    metrics: Mapping[str, float],
    economics: TrialEconomics | None = None,
) -> None:
    """Mark ``record`` finished with ``metrics``, as an adapter would."""
    result = engine.evaluate(dict(metrics), economics)
    record.status.metrics = dict(metrics)
    record.status.economics = economics
    if result.values is None:
        record.status.state = "Failed"
        record.status.reason = result.failure_reason
        return
    record.status.state = "Succeeded"
    record.status.values = result.values
    record.status.feasible = result.feasible
    record.status.violations = result.violations


def optimise(
    spec: StudySpec,
    evaluate: Evaluator,
    n_trials: int,
    records: list[Trial] | None = None,
    batch: int = 1,
) -> list[Trial]:
    """Ask ``batch`` configurations at a time (as a study with that parallelism does),
    evaluate them, record them; returns every record."""
    engine = Engine(spec)
    records = [] if records is None else records
    while len(records) < n_trials:
        suggestions = engine.ask(records, min(batch, n_trials - len(records)))
        if not suggestions:
            break
        started = []
        for s in suggestions:
            record = Trial.new(STUDY, s.number, s.parameters, s.sampler_state)
            record.status.state = "Running"
            records.append(record)
            started.append(record)
        for record in started:
            metrics, economics = evaluate(dict(record.spec.parameters))
            record_result(engine, record, metrics, economics)
    return records


def optimise_optuna(
    spec: StudySpec, evaluate: Evaluator, n_trials: int, batch: int = 1
) -> list[Trial]:
    """``optimise`` on a plain Optuna study (one seeded sampler, Optuna's ask and tell):
    the reference for what the Engine adds or loses. Records are built as ``optimise``
    builds them."""
    import optuna

    from tradeoff.engine.samplers import _kwargs
    from tradeoff.engine.space import SearchSpace

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    algorithm = spec.algorithm.name
    settings = _kwargs(spec.algorithm.settings)
    samplers = {"tpe": optuna.samplers.TPESampler, "random": optuna.samplers.RandomSampler}
    sampler = samplers[algorithm](seed=spec.algorithm.seed, **settings)
    study = optuna.create_study(sampler=sampler, directions=[o.direction for o in spec.objectives])
    space, engine = SearchSpace(spec.parameters), Engine(spec)
    records: list[Trial] = []
    while len(records) < n_trials:
        asked = [study.ask() for _ in range(min(batch, n_trials - len(records)))]
        started = [(t, Trial.new(STUDY, t.number, space.sample(t))) for t in asked]
        for trial, record in started:
            records.append(record)
            metrics, economics = evaluate(dict(record.spec.parameters))
            record_result(engine, record, metrics, economics)
            values = record.status.values
            if record.status.state == "Succeeded" and values:
                study.tell(trial, values)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return records


def search(
    optimiser: str,
    parameters: Sequence[Mapping[str, Any]],
    objectives: Sequence[tuple[str, str]],
    evaluate: Evaluator,
    seed: int,
    trials: int,
    batch: int = 1,
) -> list[Trial]:
    """One seeded run of a sampler, variant or ``optuna-`` reference; every record."""
    spec = study_spec(parameters, objectives, optimiser, seed, trials)
    if optimiser.startswith(RAW):
        return optimise_optuna(spec, evaluate, trials, batch)
    return optimise(spec, evaluate, trials, batch=batch)


def best_so_far(values: Sequence[float], maximize: bool) -> list[float]:
    """Running best of a sequence of objective values."""
    acc = np.maximum.accumulate if maximize else np.minimum.accumulate
    return [float(v) for v in acc(np.asarray(values, dtype=float))]


def mann_whitney(a: Sequence[float | None], b: Sequence[float | None]) -> float | None:
    """Two-sided Mann-Whitney U p-value of two samples (None when either has no value)."""
    from scipy.stats import mannwhitneyu

    x = [v for v in a if v is not None and np.isfinite(v)]
    y = [v for v in b if v is not None and np.isfinite(v)]
    if not x or not y:
        return None
    return float(mannwhitneyu(x, y, alternative="two-sided").pvalue)


def show_p(p: float | None) -> str:
    """A p-value as tables show it."""
    if p is None:
        return "-"
    return "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}"


def first_reaching(curve: Sequence[float], target: float, maximize: bool) -> int | None:
    """Trials (1-based) until ``curve`` first reaches ``target``; None if it never does."""
    for i, v in enumerate(curve):
        if (v >= target) if maximize else (v <= target):
            return i + 1
    return None

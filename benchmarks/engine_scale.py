"""What one decision costs as a study grows: the engine against raw Optuna, in CPU time.

A two-objective study over six parameters (four floats, one int, one categorical) holds
N finished trials. Side by side in one run, per sampler (tpe, nsga2, random, or any
variant of ``_common.VARIANTS``) and N:

- raw Optuna: `study.ask()` plus sampling the parameters and `study.tell()`, on an
  in-memory study that already holds the same N trials;
- Tradeoff: `Engine.ask(records, 1)` on an engine that has seen the records (the steady
  state: each ask adds the previous proposal's record, finished), the records kept in a
  `RecordBook` to which the new trial's record is put, as an adapter does;
- a cold rebuild: a fresh engine converting all N records (a restart);
- `summarize` (front, hypervolume, recommendation, totals) and `should_prune` (median
  pruner, every record with ten intermediate values) at N records.

CPU seconds of this process (`time.process_time`), median over the repeats.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import _latency
import numpy as np
import optuna

from tradeoff.api import Trial
from tradeoff.api.trial import StepValue
from tradeoff.engine.core import Engine
from tradeoff.engine.history import frozen_trial, optuna_state
from tradeoff.engine.records import RecordBook


def cpu(fn: Callable[[], object], repeats: int, means: dict[str, float] | None = None) -> float:
    """Median CPU seconds of `fn` over `repeats` calls (the mean goes in `means["mean"]`:
    an NSGA-II ask that re-asks for an untried configuration shows there, not in the
    median)."""
    times = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    if means is not None:
        means["mean"] = float(np.mean(times))
    return float(np.median(times))


def optuna_study(engine: Engine, records: Sequence[Trial], sampler: Any) -> optuna.Study:
    """A plain in-memory Optuna study holding the records' trials."""
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.add_trials(
        [
            frozen_trial(
                r.number,
                optuna_state(r),
                params=r.spec.parameters,
                space=engine.space,
                values=r.status.values,
                system_attrs=r.spec.sampler_state.get("trial", {}),
            )
            for r in records
        ]
    )
    return study


def raw_optuna_ask(
    engine: Engine,
    records: list[Trial],
    algorithm: str,
    repeats: int,
    means: dict[str, float] | None = None,
) -> float:
    from tradeoff.engine.samplers import make_sampler

    study = optuna_study(engine, records, make_sampler(engine.spec, 0))

    def one() -> None:
        trial = study.ask()
        params = engine.space.sample(trial)
        study.tell(trial, _latency.objectives(params))

    one()  # warm-up
    return cpu(one, repeats, means)


def tradeoff_ask(
    engine: Engine, history: list[Trial], repeats: int, means: dict[str, float] | None = None
) -> float:
    records = RecordBook(history)  # as the adapters keep them: each change is put

    def one() -> None:
        (s,) = engine.ask(records, 1)
        record = Trial.new(c.STUDY, s.number, s.parameters, s.sampler_state)
        values = _latency.objectives(s.parameters)
        record.status.state = "Succeeded"
        record.status.metrics = {"f1": values[0], "f2": values[1]}
        record.status.values = list(values)
        record.status.feasible = True
        records.put(record)

    # Warm-up, as raw Optuna's: the engine has seen the records (the steady state), and
    # the warm-up's record is kept with the study state its ask made (a genetic sampler's
    # parent populations: these histories carry only trial state, so an ask whose
    # proposal is dropped leaves the next one to choose every generation's parents again).
    one()
    return cpu(one, repeats, means)


def pruning_records(records: list[Trial]) -> list[Trial]:
    out = [r.model_copy(deep=True) for r in records]
    for r in out:
        r.status.intermediate = [StepValue(step=s, value=r.status.values[0]) for s in range(10)]  # type: ignore[index]
    running = out[-1]
    running.status.state = "Running"
    running.status.values = None
    running.status.intermediate = running.status.intermediate[:5]
    return out


def measure(algorithm: str, n: int, repeats: int) -> dict[str, Any]:
    records = _latency.make_history(algorithm if algorithm == "nsga2" else "random", n)
    spec = c.study_spec(_latency.PARAMETERS, _latency.OBJECTIVES, algorithm, 0, n + 1000)
    gc.collect()
    row: dict[str, Any] = {"records": n}
    raw_mean: dict[str, float] = {}
    own_mean: dict[str, float] = {}
    row["optuna_ask"] = raw_optuna_ask(_latency.engine(spec), records, algorithm, repeats, raw_mean)
    row["tradeoff_ask"] = tradeoff_ask(_latency.engine(spec), records, repeats, own_mean)
    row["ratio"] = row["tradeoff_ask"] / max(row["optuna_ask"], 1e-9)
    row["optuna_ask_mean"], row["tradeoff_ask_mean"] = raw_mean["mean"], own_mean["mean"]
    row["mean_ratio"] = own_mean["mean"] / max(raw_mean["mean"], 1e-9)
    row["cold_rebuild"] = cpu(lambda: _latency.engine(spec)._sync(records), 3)
    row["summarize"] = cpu(lambda: _latency.engine(spec).summarize(records), 3)
    pruned_spec = c.study_spec(
        _latency.PARAMETERS,
        _latency.OBJECTIVES,
        algorithm,
        0,
        n + 1000,
        earlyStopping={"algorithm": "median", "metric": "f1"},
    )
    engine = _latency.engine(pruned_spec)
    with_steps = RecordBook(pruning_records(records))
    engine.should_prune(with_steps, with_steps[-1].number)  # the engine has seen them
    row["should_prune"] = cpu(lambda: engine.should_prune(with_steps, with_steps[-1].number), 5)
    return row


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--sizes", default="1000,5000,10000", help="records, e.g. 1000,5000")
        p.add_argument("--samplers", default="tpe,nsga2,random", help="samplers to measure")
        p.add_argument("--repeats", type=int, default=7, help="asks timed per cell")
        p.add_argument("--name", default="engine_scale", help="name of the JSON file")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    sizes = [100] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 2 if args.quick else args.repeats
    rows = []
    results: dict[str, dict[str, Any]] = {}
    for algorithm in args.samplers.split(","):
        results[algorithm] = {}
        for n in sizes:
            r = measure(algorithm, n, repeats)
            results[algorithm][str(n)] = r
            rows.append(
                [
                    algorithm,
                    n,
                    f"{r['optuna_ask'] * 1000:.2f}",
                    f"{r['tradeoff_ask'] * 1000:.2f}",
                    f"{r['ratio']:.2f}x",
                    f"{r['mean_ratio']:.2f}x",
                    f"{r['cold_rebuild'] * 1000:.0f}",
                    f"{r['summarize'] * 1000:.1f}",
                    f"{r['should_prune'] * 1000:.2f}",
                ]
            )
            print(f"  {algorithm} at {n}: {rows[-1][2:]}", flush=True)
    c.print_table(
        "Engine decisions against raw Optuna (CPU ms, median)",
        [
            "sampler",
            "records",
            "optuna ask",
            "tradeoff ask",
            "ratio",
            "mean ratio",
            "cold rebuild",
            "summarize",
            "should_prune",
        ],
        rows,
    )
    payload = {"repeats": repeats, "results": results}
    c.write_results(args.out, args.name, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

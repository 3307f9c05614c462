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
- a cold rebuild again, the records in a `RecordBook` (as local mode keeps them, and as
  the engine keeps the operator's `SharedRecords`);
- a cold ask: a fresh engine given the N records and asked once (a restart's first
  decision: the rebuild, and the sampler's first look at every trial);
- `summarize` (front, hypervolume, recommendation, totals) and `should_prune` (median
  pruner, every record with ten intermediate values) at N records.

CPU seconds of this process (`time.process_time`), median over the repeats; raw Optuna's
asks and the engine's take turns, ask by ask (the mean ratio is reported beside the
median: an NSGA-II ask that re-asks for an untried configuration shows there).

`--mode plan` measures the operator's warm pass instead (`_plan_pass.py`): `plan_study`
at N finished records, one and two objectives. `--trees before=/path,now=.` runs the
same measurement with each checkout's `tradeoff` package in a child process, the trees
taking turns size by size, and prints them side by side.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tempfile
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


def cpu(fn: Callable[[], object], repeats: int) -> float:
    """Median CPU seconds of `fn` over `repeats` calls."""
    times = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
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


def raw_optuna_asker(engine: Engine, records: list[Trial]) -> Callable[[], None]:
    """One raw Optuna ask (ask, sample, tell) on a study holding `records`, warmed up."""
    from tradeoff.engine.samplers import make_sampler

    study = optuna_study(engine, records, make_sampler(engine.spec, 0))

    def one() -> None:
        trial = study.ask()
        params = engine.space.sample(trial)
        study.tell(trial, _latency.objectives(params))

    one()  # warm-up
    return one


def tradeoff_asker(engine: Engine, history: list[Trial]) -> Callable[[], None]:
    """One `Engine.ask` whose record is put, as an adapter does, warmed up."""
    records = RecordBook(history)  # as the adapters keep them: each change is put

    def one() -> None:
        (s,) = engine.ask(records, 1)
        records.put(_latency.finished(s.number, s.parameters, s.sampler_state))

    # Warm-up, as raw Optuna's: the engine has seen the records (the steady state), and
    # the warm-up's record is kept with the study state its ask made (a genetic sampler's
    # parent populations: these histories carry only trial state, so an ask whose
    # proposal is dropped leaves the next one to choose every generation's parents again).
    one()
    return one


def in_turns(sides: dict[str, Callable[[], None]], repeats: int) -> dict[str, list[float]]:
    """CPU seconds of each side's asks, the sides taking turns ask by ask (the first to go
    alternating), so a change of the machine's load between them moves both alike: timed
    one block after the other, NSGA-II's 1 ms asks at 1,000 records gave ratios of
    0.86-1.83x on one tree in eight runs of seven asks."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides)
    for turn in range(repeats):
        for name in order if turn % 2 == 0 else order[::-1]:
            started = time.process_time()
            sides[name]()
            times[name].append(time.process_time() - started)
    return times


def pruning_records(records: list[Trial]) -> list[Trial]:
    out = [r.model_copy(deep=True) for r in records]
    for r in out:
        r.status.intermediate = [StepValue(step=s, value=r.status.values[0]) for s in range(10)]  # type: ignore[index]
    running = out[-1]
    running.status.state = "Running"
    running.status.values = None
    running.status.intermediate = running.status.intermediate[:5]
    return out


def measure(algorithm: str, n: int, repeats: int, cold_repeats: int = 3) -> dict[str, Any]:
    records = _latency.make_history(algorithm if algorithm == "nsga2" else "random", n)
    spec = c.study_spec(_latency.PARAMETERS, _latency.OBJECTIVES, algorithm, 0, n + 1000)
    gc.collect()
    row: dict[str, Any] = {"records": n}
    sides = {
        "optuna_ask": raw_optuna_asker(_latency.engine(spec), records),
        "tradeoff_ask": tradeoff_asker(_latency.engine(spec), records),
    }
    for side, times in in_turns(sides, repeats).items():
        row[side], row[f"{side}_mean"] = float(np.median(times)), float(np.mean(times))
    row["ratio"] = row["tradeoff_ask"] / max(row["optuna_ask"], 1e-9)
    row["mean_ratio"] = row["tradeoff_ask_mean"] / max(row["optuna_ask_mean"], 1e-9)
    row["cold_rebuild"] = cpu(lambda: _latency.engine(spec)._sync(records), cold_repeats)
    book = RecordBook(records)
    row["cold_rebuild_book"] = cpu(lambda: _latency.engine(spec)._sync(book), cold_repeats)
    row["cold_ask"] = cpu(lambda: _latency.engine(spec).ask(records, 1), cold_repeats)
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


def measure_plan(n: int, passes: int) -> dict[str, Any]:
    from _plan_pass import pass_cpu

    pass_cpu(100, 1, 2)  # imports and first-use costs out of the way
    return {str(k): pass_cpu(n, k, passes) for k in (1, 2)}


def in_trees(args: Any, sizes: list[int]) -> dict[str, Any]:
    """This script per size in each tree (`name=path`), the trees taking turns."""
    trees = dict(t.split("=", 1) for t in args.trees.split(","))
    out: dict[str, Any] = {name: {} for name in trees}
    for n in sizes:
        for name, path in trees.items():
            tree = Path(path).resolve()
            env = {**os.environ, "PYTHONPATH": f"{tree / 'operator'}{os.pathsep}{tree}"}
            with tempfile.TemporaryDirectory() as tmp:
                command = [sys.executable, __file__, "--mode", args.mode, "--sizes", str(n)]
                command += ["--samplers", args.samplers, "--repeats", str(args.repeats)]
                command += ["--cold-repeats", str(args.cold_repeats)]
                command += ["--passes", str(args.passes), "--out", tmp, "--name", "tree"]
                subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
                found = json.loads((Path(tmp) / "tree.json").read_text())
            load = found["machine"]["load_average"][0]
            for key, cells in found["results"].items():
                out[name].setdefault(key, {}).update(cells)
                for cell in cells.values():
                    for row in cell.values() if args.mode == "plan" else [cell]:
                        row["load"] = load
            print(f"  {name} at {n}: done (load {load})", flush=True)
    return out


def plan_rows(results: dict[str, Any], label: str = "") -> list[list[Any]]:
    rows = []
    for n, by_objectives in results.get("plan", {}).items():
        for k, r in by_objectives.items():
            rows.append(
                [
                    label,
                    n,
                    k,
                    f"{r['warm_pass_median'] * 1000:.1f}",
                    f"{r['warm_pass_mean'] * 1000:.1f}",
                    f"{r['warm_pass_max'] * 1000:.1f}",
                    f"{r['cold_pass'] * 1000:.0f}",
                    r.get("load", ""),
                ]
            )
    return rows


def ask_rows(results: dict[str, Any], label: str = "") -> list[list[Any]]:
    rows = []
    for algorithm, by_size in results.items():
        for n, r in by_size.items():
            rows.append(
                [
                    label,
                    algorithm,
                    n,
                    f"{r['optuna_ask'] * 1000:.2f}",
                    f"{r['tradeoff_ask'] * 1000:.2f}",
                    f"{r['ratio']:.2f}x",
                    f"{r['mean_ratio']:.2f}x",
                    f"{r['cold_rebuild'] * 1000:.0f}",
                    f"{r.get('cold_rebuild_book', float('nan')) * 1000:.0f}",
                    f"{r.get('cold_ask', float('nan')) * 1000:.0f}",
                    f"{r['summarize'] * 1000:.1f}",
                    f"{r['should_prune'] * 1000:.2f}",
                    r.get("load", ""),
                ]
            )
    return rows


PLAN_HEADER = ["tree", "records", "objectives", "warm pass median", "mean", "max", "cold pass"]
ASK_HEADER = ["tree", "sampler", "records", "optuna ask", "tradeoff ask", "ratio", "mean ratio"]
ASK_HEADER += ["cold rebuild", "cold rebuild (book)", "cold ask", "summarize", "should_prune"]


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--sizes", default="1000,5000,10000", help="records, e.g. 1000,5000")
        p.add_argument("--samplers", default="tpe,nsga2,random", help="samplers to measure")
        p.add_argument("--repeats", type=int, default=7, help="asks timed per cell")
        p.add_argument("--cold-repeats", type=int, default=3, help="cold rebuilds timed per cell")
        p.add_argument("--mode", choices=["ask", "plan"], default="ask", help="what to time")
        p.add_argument("--passes", type=int, default=30, help="warm passes timed (plan)")
        p.add_argument("--trees", default="", help="name=path,... checkouts side by side")
        p.add_argument("--name", default="engine_scale", help="name of the JSON file")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    sizes = [100] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 2 if args.quick else args.repeats
    if args.trees:
        by_tree = in_trees(args, sizes)
        rows = []
        for name, found in by_tree.items():
            made = plan_rows if args.mode == "plan" else ask_rows
            rows += made(found, name)
        header = PLAN_HEADER if args.mode == "plan" else ASK_HEADER
        c.print_table("Side by side (CPU ms, median)", [*header, "load"], rows)
        c.write_results(args.out, args.name, {"mode": args.mode, "trees": by_tree})
        return 0
    results: dict[str, dict[str, Any]] = {}
    if args.mode == "plan":
        results["plan"] = {str(n): measure_plan(n, args.passes) for n in sizes}
        c.print_table("Warm operator passes (CPU ms)", [*PLAN_HEADER, "load"], plan_rows(results))
    else:
        for algorithm in args.samplers.split(","):
            results[algorithm] = {}
            for n in sizes:
                row = results[algorithm][str(n)] = measure(algorithm, n, repeats, args.cold_repeats)
                print(f"  {algorithm} at {n}: {ask_rows({algorithm: {n: row}})[0][3:]}", flush=True)
        c.print_table(
            "Engine decisions against raw Optuna (CPU ms, median)",
            [*ASK_HEADER, "load"],
            ask_rows(results),
        )
    payload = {"repeats": repeats, "mode": args.mode, "results": results}
    c.write_results(args.out, args.name, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A restart's cost at N records: a fresh engine's rebuild and its first ask, side by side.

`python benchmarks/cold_rebuild.py --trees before=/path,now=. --rounds 4`: the histories
of `engine_scale.py` (N finished two-objective records, signed sampler state) are made
once and kept as JSON; then, round after round, each checkout's `tradeoff` package in a
child process of its own (the trees taking turns, so a change in the machine's load
falls on both) times, per sampler: a cold rebuild from a list (a fresh engine converting
every record), one from a `RecordBook`, and a cold ask (a fresh engine given the records
and asked once: a restart's first decision). CPU ms of the child, median over every
round's repeats; the 1-minute load average at the end of each child.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
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

from tradeoff.api import Trial
from tradeoff.engine.records import RecordBook

CELLS = ("cold_rebuild", "cold_rebuild_book", "cold_ask")
REPO = Path(__file__).resolve().parents[1]
"""This checkout: the one tree timed unless `--trees` names others."""


def cpu_times(fn: Callable[[], object], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        gc.collect()
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return times


def child(history_dir: Path, samplers: list[str], n: int, repeats: int) -> dict[str, Any]:
    """This process's tree timed on the stored histories (run in each tree's child)."""
    out: dict[str, Any] = {}
    for algorithm in samplers:
        kind = "nsga2" if algorithm == "nsga2" else "random"
        stored = json.loads((history_dir / f"{kind}-{n}.json").read_text())
        out[algorithm] = cold_cells(algorithm, [Trial.model_validate(r) for r in stored], repeats)
    out["load"] = os.getloadavg()[0]
    return out


def cold_cells(algorithm: str, records: list[Trial], repeats: int) -> dict[str, list[float]]:
    spec = c.study_spec(_latency.PARAMETERS, _latency.OBJECTIVES, algorithm, 0, len(records) + 1000)
    book = RecordBook(records)
    return {
        "cold_rebuild": cpu_times(lambda: _latency.engine(spec)._sync(records), repeats),
        "cold_rebuild_book": cpu_times(lambda: _latency.engine(spec)._sync(book), repeats),
        "cold_ask": cpu_times(lambda: _latency.engine(spec).ask(records, 1), repeats),
    }


def side_by_side(args: Any, samplers: list[str]) -> dict[str, Any]:
    trees = dict(t.split("=", 1) for t in args.trees.split(","))
    found: dict[str, Any] = {name: {"loads": []} for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in sorted({"nsga2" if s == "nsga2" else "random" for s in samplers}):
            history = _latency.make_history(kind, args.records)
            records = [r.model_dump(mode="json", by_alias=True) for r in history]
            (Path(tmp) / f"{kind}-{args.records}.json").write_text(json.dumps(records))
        for round_ in range(args.rounds):
            for name, path in trees.items():
                tree = Path(path).resolve()
                env = {**os.environ, "PYTHONPATH": f"{tree / 'operator'}{os.pathsep}{tree}"}
                command = [sys.executable, __file__, "--child", tmp, "--samplers"]
                command += [",".join(samplers), "--records", str(args.records)]
                command += ["--repeats", str(args.repeats)]
                done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
                result = json.loads(done.stdout)
                found[name]["loads"].append(result.pop("load"))
                for algorithm, cells in result.items():
                    mine = found[name].setdefault(algorithm, {cell: [] for cell in CELLS})
                    for cell in CELLS:
                        mine[cell] += cells[cell]
            print(f"  round {round_ + 1} of {args.rounds} done", flush=True)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--records", type=int, default=10000, help="records in the history")
        p.add_argument("--samplers", default="tpe,nsga2,random", help="samplers to measure")
        p.add_argument("--repeats", type=int, default=3, help="timings per cell per round")
        p.add_argument("--rounds", type=int, default=4, help="turns of each tree")
        p.add_argument("--trees", default=f"now={REPO}", help="name=path,... side by side")
        p.add_argument("--child", default="", help=argparse.SUPPRESS)  # a tree's timings
        p.add_argument("--name", default="cold_rebuild", help="name of the JSON file")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    samplers = args.samplers.split(",")
    if args.child:
        print(json.dumps(child(Path(args.child), samplers, args.records, args.repeats)))
        return 0
    if args.quick:
        args.records, args.rounds, args.repeats = 200, 1, 1
    found = side_by_side(args, samplers)
    rows = []
    for algorithm in samplers:
        for name, by_sampler in found.items():
            cells = by_sampler[algorithm]
            medians = [f"{statistics.median(cells[cell]) * 1000:.0f}" for cell in CELLS]
            spread = f"{min(cells['cold_ask']) * 1000:.0f}-{max(cells['cold_ask']) * 1000:.0f}"
            loads = by_sampler["loads"]
            rows.append([algorithm, name, *medians, spread, f"{min(loads):.1f}-{max(loads):.1f}"])
    header = ["sampler", "tree", "cold rebuild", "cold rebuild (book)", "cold ask"]
    c.print_table(
        f"A restart at {args.records} records (CPU ms, median of {args.rounds} rounds)",
        [*header, "cold ask min-max", "load"],
        rows,
    )
    payload = {"records": args.records, "rounds": args.rounds, "repeats": args.repeats}
    c.write_results(args.out, args.name, {**payload, "trees": found})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

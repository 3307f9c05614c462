"""Overheads: local mode against raw Optuna, and the engine's suggest latency.

(a) ``tradeoff run`` of a tiny study of fast subprocess trials against Optuna's
``study.optimize`` running the same subprocess trials (``_local.py``): wall-time ratio.
(b) ``Engine.ask`` latency p50/p95 at 100, 1000 and 5000 finished trials per sampler,
with the share spent rebuilding the in-memory Optuna study from the records, and where
the rebuild's time goes (``_latency.py``).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import _latency

from tradeoff.engine.core import Engine

NAME = "overhead"


def local_part(trials: int, repeats: int) -> dict[str, Any] | None:
    """Wall seconds of both sides and their ratio; None without local mode."""
    if importlib.util.find_spec("tradeoff.local.command") is None:
        print("local mode (tradeoff.local) is not there: part (a) skipped")
        return None
    import _local

    floor = _local.time_trial_process()
    tradeoff, optuna = [], []
    for i in range(repeats):
        tradeoff.append(_local.time_tradeoff(trials))
        optuna.append(_local.time_optuna(trials))
        print(
            f"  repeat {i}: tradeoff run {tradeoff[-1]:.2f} s, optuna {optuna[-1]:.2f} s",
            flush=True,
        )
    ratios = [t / o for t, o in zip(tradeoff, optuna, strict=True)]
    per_trial = [(t - o) / trials for t, o in zip(tradeoff, optuna, strict=True)]
    return {
        "trials": trials,
        "trial_process_seconds": floor,
        "tradeoff_seconds": c.stats(tradeoff),
        "optuna_seconds": c.stats(optuna),
        "ratio": c.stats(ratios),
        "extra_seconds_per_trial": c.stats(per_trial),
    }


def rebuild_breakdown(n: int) -> dict[str, float]:
    """Seconds of a cold rebuild at ``n`` records (a fresh engine converting every record),
    and of reading the trials back from Optuna's storage."""
    records = _latency.make_history("random", n)
    spec = c.study_spec(_latency.PARAMETERS, _latency.OBJECTIVES, "random", 0, n + 10)
    engine = Engine(spec)
    started = time.process_time()
    study = engine._sync(records)
    rebuild = time.process_time() - started
    started = time.process_time()
    study.get_trials(deepcopy=False)
    read = time.process_time() - started
    return {"records": n, "rebuild_seconds": rebuild, "get_trials_seconds": read}


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--parts", default="local,latency", help="local, latency or both")
        p.add_argument("--sizes", default=None, help="finished-trial counts, e.g. 100,1000,5000")
        p.add_argument("--samplers", default="tpe,nsga2,random,qmc,gp", help="or variants")
        p.add_argument("--name", default=NAME, help="name of the JSON file")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    parts = args.parts.split(",")
    sizes = (
        [int(s) for s in args.sizes.split(",")]
        if args.sizes
        else ([20] if args.quick else [100, 1000, 5000])
    )
    gp_sizes = [] if args.quick else [s for s in sizes if s <= 1000]
    samplers = args.samplers.split(",")
    payload: dict[str, Any] = {"sizes": sizes, "gp_sizes": gp_sizes}
    if "local" in parts:
        print("(a) local mode vs raw Optuna:", flush=True)
        payload["local"] = local_part(
            2 if args.quick else 20, args.seeds or (1 if args.quick else 3)
        )
    if "latency" in parts:
        print("(b) engine suggest latency:", flush=True)
        repeats = {
            s: (2 if args.quick else 3 if s >= 5000 else 5 if s >= 1000 else 10) for s in sizes
        }
        table = _latency.latency_table(samplers, sizes, gp_sizes, repeats)
        payload["latency"] = table
        payload["rebuild_breakdown"] = rebuild_breakdown(max(sizes))
        rows = [
            [
                name,
                n,
                f"{r['ask_p50'] * 1e3:.1f}",
                f"{r['ask_p95'] * 1e3:.1f}",
                f"{r['rebuild_p50'] * 1e3:.1f}",
                f"{r['rebuild_share']:.0%}",
            ]
            for name, by_size in table.items()
            for n, r in by_size.items()
        ]
        c.print_table(
            "Engine.ask(records, 1) latency (CPU time)",
            ["sampler", "finished trials", "p50 ms", "p95 ms", "rebuild p50 ms", "rebuild share"],
            rows,
        )
        b = payload["rebuild_breakdown"]
        print(
            f"cold rebuild at {b['records']} records: {b['rebuild_seconds']:.3f} s CPU,"
            f" get_trials {b['get_trials_seconds']:.3f} s"
        )
    local = payload.get("local")
    if local:
        c.print_table(
            f"Local mode vs raw Optuna, {local['trials']} subprocess trials, median [IQR]",
            ["tradeoff run s", "optuna s", "ratio", "extra s per trial", "one trial process s"],
            [
                [
                    c.show(local["tradeoff_seconds"]),
                    c.show(local["optuna_seconds"]),
                    c.show(local["ratio"]),
                    c.show(local["extra_seconds_per_trial"]),
                    f"{local['trial_process_seconds']:.3f}",
                ]
            ],
        )
    c.write_results(args.out, args.name, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Do a source study's best configurations stay best on a related CASH task?

For each seed: the source study of ``warm_start.py`` (same seed, same budget), then its
``--top`` best configurations evaluated on the target. The drop from source to target
accuracy is what a warm start's head start loses in the move (``--cash SOURCE:TARGET``,
e.g. ``digits@0:digits@1``: the same dataset on another split).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import warm_start as w

NAME = "warm_start_top"


def main(argv: Sequence[str] | None = None) -> int:
    def extra(parser: Any) -> None:
        parser.add_argument("--cash", default="digits@0:digits@1", help="SOURCE:TARGET")
        parser.add_argument("--trials", type=int, default=30, help="source budget")
        parser.add_argument("--top", type=int, default=3, help="best source configurations")
        parser.add_argument("--name", default=NAME, help="results file name")

    args = c.parse_args(argv, __doc__.splitlines()[0] if __doc__ else NAME, extra)
    seeds = args.seeds or (1 if args.quick else 5)
    trials = 4 if args.quick else args.trials
    source_data, target_data = args.cash.split(":")
    target = w.cash(target_data)
    rows: list[list[Any]] = []
    for seed in range(seeds):
        source = w.run(w.spec_of("cash", seed + 1000, trials, False), w.cash(source_data), trials)
        for rank, params in enumerate(w.best_first("cash", source, args.top), 1):
            done = next(r for r in source if r.spec.parameters is params)
            on_target = target(dict(params))[0].get("accuracy", 0.0)
            rows.append([seed, rank, done.status.values[0], on_target])  # type: ignore[index]
    drops = [t - s for *_, s, t in rows]
    headers = ["seed", "rank", "source accuracy", "target accuracy"]
    c.print_table(f"Source's best on the target ({args.cash})", headers, rows)
    print("target - source:", c.show(c.stats(drops), digits=3), "(median [q1, q3])")
    payload = {"headers": headers, "rows": rows, "cash": args.cash, "source_trials": trials}
    c.write_results(args.out, args.name, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""What live insights cost a local run: `tradeoff run --insights` against `tradeoff run`.

Both sides run the same study of instant ``timed`` trials (`local_scale`: a small C
program that records when it started and ended), one at a time, random search, in
turn within each repeat so both see the same load. ``--insights`` computes the insights
at each milestone of finished trials (5, 10, 20, ... 100, 200, ...) in the run's insight
child (`tradeoff.local.insight_worker`) and once more when the study ends; instant trials
are the worst case for the trial loop, which starts a trial every few milliseconds while
fANOVA runs beside it. Measured: wall, CPU (the run's, its trials' and its insight
child's), the run's own CPU, and the latency from one trial's exit to the next one's
start (median, mean, 99th percentile, greatest). With ``--before CHECKOUT``, that code's
``--insights`` (which only adds the analysis to the report at the end) runs too: the
difference is what computing them live adds.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import local_scale
import numpy as np

NAME = "local_insights"
SIDES: dict[str, list[str]] = {"tradeoff run": [], "tradeoff run --insights": ["--insights"]}


def run_side(trials: int, flags: list[str], tree: Path | None = None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="tradeoff-local-insights-"))
    try:
        study = work / "study.yaml"
        study.write_text(json.dumps(local_scale.manifest(trials, 1, "random", "timed")), "utf-8")
        records = work / "records"
        argv = ["-m", "tradeoff.cli", "run", str(study), "--workdir", str(records)]
        result: dict[str, Any] = local_scale._measure(
            [*argv, "--no-progress", "--quiet", *flags], work, tree
        )
        gaps = local_scale.exit_to_start_ms(work / "trial-times.txt")
        result["gap_p99_ms"] = float(np.percentile(gaps, 99))
        result["gap_max_ms"] = max(gaps)
        status = records / "status.json"
        computed = json.loads(status.read_text())["insightsFrom"] if status.exists() else None
        result["insights_from"] = computed
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--trials", type=int, default=None, help="trials per study (300)")
        p.add_argument(
            "--before",
            type=Path,
            default=None,
            help="a checkout of the code before live insights: its --insights (the report's"
            " analysis only) runs too",
        )

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    trials = args.trials or (20 if args.quick else 300)
    repeats = args.seeds or (1 if args.quick else 3)
    load_before = os.getloadavg()
    sides = {name: (flags, None) for name, flags in SIDES.items()}
    if args.before is not None:
        sides["before: tradeoff run --insights"] = (["--insights"], args.before)
    names = list(sides)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            runs[name].append(run_side(trials, *sides[name]))
            r = runs[name][-1]
            print(
                f"  #{i} {name}: wall {r['wall']:.2f} s, own CPU {r['orchestrator_cpu']:.2f} s,"
                f" exit to start {r['gap_ms']:.2f} ms (max {r['gap_max_ms']:.1f});"
                f" load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    keys = ["wall", "cpu", "orchestrator_cpu", "gap_ms", "gap_mean_ms", "gap_p99_ms", "gap_max_ms"]
    rows = [
        [name, *(local_scale._show(local_scale._spread([r[k] for r in runs[name]])) for k in keys)]
        for name in names
    ]
    c.print_table(
        f"{trials} instant trials, one at a time, random search; median [min, max] of"
        f" {repeats}: seconds, and milliseconds from one trial's exit to the next start",
        ["side", "wall", "CPU", "own CPU", "exit to start", "mean", "p99", "max"],
        rows,
    )
    load_after = os.getloadavg()
    print(f"load average before {load_before}, after {load_after}")
    payload = {"trials": trials, "runs": runs, "load_before": load_before, "load_after": load_after}
    c.write_results(args.out, NAME, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())

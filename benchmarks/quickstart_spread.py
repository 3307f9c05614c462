"""Is the quickstart's trade-off real? Runs ``tradeoff run examples/quickstart.yaml`` as the
README does, several times, each in a fresh directory, and reports per run: wall and CPU
time (the trial processes included), the load average, the Pareto front's size, its
cheapest and costliest points and their ratio, and the model families on it.

Usage: ``python benchmarks/quickstart_spread.py [--runs 3] [--quick] [--check]``; writes
``benchmarks/results/quickstart_spread.json`` and, per run, the command's output
(``quickstart_spread_run<N>.txt``). ``--quick`` runs a 6-trial study once (smoke test)
and writes under ``benchmarks/results/quick/``. ``--check`` exits 1 unless every run's
front spans at least 5x in cost and the same model families make the front in every run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tradeoff.api.load import dump_yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
MANIFEST = REPO / "examples" / "quickstart.yaml"
NAME = "quickstart_spread"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def _tradeoff(*args: str, cwd: Path, merge: bool = False) -> subprocess.CompletedProcess[str]:
    """``tradeoff ARGS`` in ``cwd``; ``merge``: standard error into standard output."""
    command = [sys.executable, "-c", "import sys; from tradeoff.cli import main; sys.exit(main())"]
    return subprocess.run(
        [*command, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        text=True,
        check=False,
    )


def one_run(manifest: Path, workdir: Path) -> dict[str, Any]:
    """Run the study in ``workdir`` (as a user would: default work directory) and measure."""
    load_before, cpu_before, started = _loadavg(), _children_cpu(), time.perf_counter()
    done = _tradeoff("run", str(manifest), cwd=workdir, merge=True)
    wall, cpu = time.perf_counter() - started, _children_cpu() - cpu_before
    load_after = _loadavg()
    if done.returncode != 0:
        raise SystemExit(f"tradeoff run failed ({done.returncode}): {done.stdout[-2000:]}")
    exported = _tradeoff("export", "quickstart", "--format", "json", cwd=workdir)
    rows = json.loads(exported.stdout)
    front = [r for r in rows if r["front"]]
    costs = sorted(r["objectives"]["cost"] for r in front)
    return {
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "trial_seconds": round(sum(r["economics"]["durationSeconds"] for r in rows), 1),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "trials": len(rows),
        "succeeded": sum(r["state"] == "Succeeded" for r in rows),
        "front_size": len(front),
        "front_cost_min": costs[0],
        "front_cost_max": costs[-1],
        "front_cost_ratio": round(costs[-1] / costs[0], 2),
        "front_families": sorted({r["parameters"]["model"] for r in front}),
        "front": [
            {
                "trial": r["trial"],
                "model": r["parameters"]["model"],
                "accuracy": r["objectives"]["accuracy"],
                "cost": r["objectives"]["cost"],
                "seconds": round(r["economics"]["durationSeconds"], 1),
                "cpu_seconds": round(r["economics"]["cpuSeconds"] or 0.0, 1),
            }
            for r in sorted(front, key=lambda r: r["objectives"]["cost"])
        ],
        "output": done.stdout,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one 6-trial run (smoke test)")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless 5x spans and the same families"
    )
    args = parser.parse_args(argv)
    out = RESULTS / "quick" if args.quick else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="quickstart-spread-") as tmp:
        manifest = MANIFEST
        if args.quick:
            spec = yaml.safe_load(MANIFEST.read_text())
            spec["spec"]["budget"]["maxTrials"] = 6
            manifest = Path(tmp) / "quickstart.yaml"
            manifest.write_text(dump_yaml(spec))
        for i in range(1 if args.quick else args.runs):
            workdir = Path(tmp) / f"run{i + 1}"
            workdir.mkdir()
            result = one_run(manifest, workdir)
            (out / f"{NAME}_run{i + 1}.txt").write_text(result.pop("output"))
            runs.append(result)
            print(
                f"run {i + 1}: {result['wall_seconds']} s wall, {result['cpu_seconds']} s CPU, "
                f"load {result['loadavg_before'][0]}->{result['loadavg_after'][0]}; "
                f"front {result['front_size']} of {result['trials']}: cost "
                f"${result['front_cost_min']:.3g}..${result['front_cost_max']:.3g} "
                f"({result['front_cost_ratio']}x); families {', '.join(result['front_families'])}",
                flush=True,
            )
    families = {tuple(r["front_families"]) for r in runs}
    common = set.intersection(*(set(r["front_families"]) for r in runs))
    summary = {
        "min_front_cost_ratio": min(r["front_cost_ratio"] for r in runs),
        "same_families_every_run": len(families) == 1,
        "families_in_every_run": sorted(common),
    }
    print(json.dumps(summary))
    record = {
        "benchmark": NAME,
        "manifest": str(MANIFEST.relative_to(REPO)),
        "cpus": os.cpu_count(),
        "runs": runs,
        "summary": summary,
    }
    (out / f"{NAME}.json").write_text(json.dumps(record, indent=1) + "\n")
    met = summary["min_front_cost_ratio"] >= 5 and summary["same_families_every_run"]
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())

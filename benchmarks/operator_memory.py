"""The operator's memory while trials print a lot: the real operator process against the
Kubernetes API emulator and its local kubelet.

Each trial is a pod whose command prints `--megabytes` of output: half of it one line
without a newline, half short lines, with metric lines (intermediate values, then the
final one) in between, as a chatty training script would. All trials run at once. The
operator follows every log, so what is measured is what following and judging the pods
costs: the operator's peak resident memory (VmHWM) against its resident memory just
before the study started, and that every trial still got its metrics right.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))  # the API emulator lives in tests/cluster

import _common as c  # noqa: E402
from operator_scale import OperatorProcess, wait  # noqa: E402

NAME = "operator_memory"
GROUP = "tradeoff.dev"
LIMIT_MIB = 300
"""The bound the operator must stay under (the chart's request is 256Mi, limit 1Gi)."""

# The trial: `megabytes` MB of output, the metrics spread through it. The expected final
# accuracy is x itself, so each trial's result can be checked.
TRIAL = """\
import json, os, sys
out = sys.stdout.buffer
x = json.loads(os.environ["TRADEOFF_PARAMS"])["x"]
total = int(float(os.environ["MEGABYTES"]) * 1024 * 1024)
block = b"z" * 65536
line = b"y" * 99 + b"\\n"
lines = line * (65536 // len(line))
written, step = 0, 0
while written < total:
    if written < total // 2:
        out.write(block)  # one long line, no newline
    else:
        if step == 0:
            out.write(b"\\n")
        out.write(lines)
    written += 65536
    if written % (4 * 1024 * 1024) == 0 and written >= total // 2:
        step += 1
        out.write(f"epoch={step} accuracy={x / 2}\\n".encode())
out.write(f"\\naccuracy={x}\\n".encode())
"""


def manifest(name: str, trials: int, megabytes: float) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Study",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "objectives": [{"name": "accuracy", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "algorithm": {"name": "random", "seed": 3},
            "budget": {"maxTrials": trials, "parallelism": trials, "maxFailedTrials": trials},
            "trialTemplate": {
                "activeDeadline": "10m",
                "pod": {
                    "containers": [
                        {
                            "name": "trial",
                            "image": "tradeoff:0.1.0",
                            "command": ["python", "-c", TRIAL],
                            "env": [{"name": "MEGABYTES", "value": str(megabytes)}],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ]
                },
            },
        },
    }


def settled_rss(op: OperatorProcess, timeout: float = 60.0) -> float:
    """The operator's RSS once it stopped growing (imports done, watches open)."""
    time.sleep(2.0)
    last = op.rss_mib()[0]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = op.rss_mib()[0]
        if abs(now - last) < 1.0:
            return now
        last = now
    return last


def run(
    trials: int, megabytes: float, timeout: float, workdir: Path, env_extra: dict[str, str]
) -> dict[str, Any]:
    """One study; the operator's memory and every trial's outcome."""
    from tests.cluster.harness import Cluster

    name = "chatty"
    log = workdir / "operator.log"
    with Cluster(max_concurrent=trials) as cluster:
        op = OperatorProcess({**cluster.env(), **env_extra}, log)
        before = settled_rss(op)
        cluster.apply(manifest(name, trials, megabytes))
        started = time.perf_counter()

        def finished() -> bool:
            if op.process.poll() is not None:
                raise RuntimeError(f"the operator exited ({op.process.returncode}); see {log}")
            found = cluster.get("studies", name, group=GROUP) or {}
            return (found.get("status") or {}).get("state") in ("Succeeded", "Failed")

        wait(finished, timeout, interval=0.5)
        seconds = time.perf_counter() - started
        rss, peak = op.rss_mib()
        study = cluster.get("studies", name, group=GROUP) or {}
        found = cluster.list("trials", "default", GROUP, f"tradeoff.dev/study={name}")
        op.kill()
    outcomes = []
    for trial in sorted(found, key=lambda t: t["spec"]["number"]):
        status = trial.get("status") or {}
        x = float(trial["spec"]["parameters"]["x"])
        got = (status.get("metrics") or {}).get("accuracy")
        outcomes.append(
            {
                "trial": trial["metadata"]["name"],
                "state": status.get("state"),
                "accuracy": got,
                "expected": x,
                "right": got is not None and abs(got - x) < 1e-9,
                "intermediate": len(status.get("intermediate") or []),
            }
        )
    return {
        "trials": trials,
        "megabytes_per_trial": megabytes,
        "seconds": seconds,
        "study_state": (study.get("status") or {}).get("state"),
        "rss_mib_before": before,
        "rss_mib_at_end": rss,
        "rss_mib_peak": peak,
        "peak_growth_mib": peak - before,
        "outcomes": outcomes,
    }


def git_head(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--trials", type=int, default=None, help="trials at once (default 8)")
        p.add_argument(
            "--megabytes", type=float, default=None, help="output per trial (default 50)"
        )
        p.add_argument("--timeout", type=float, default=900.0)
        p.add_argument(
            "--operator-tree",
            type=Path,
            default=None,
            help="run the operator from another checkout (e.g. an older commit, to compare)",
        )
        p.add_argument("--name", default=NAME, help="results file name")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    trials = args.trials or (2 if args.quick else 8)
    megabytes = args.megabytes or (2.0 if args.quick else 50.0)
    env_extra: dict[str, str] = {}
    tree = BENCH.parent
    if args.operator_tree is not None:
        tree = args.operator_tree.resolve()
        env_extra["PYTHONPATH"] = f"{tree / 'operator'}{os.pathsep}{tree}"
    with tempfile.TemporaryDirectory(prefix="tradeoff-memory-") as tmp:
        try:
            result = run(trials, megabytes, args.timeout, Path(tmp), env_extra)
        except (TimeoutError, RuntimeError) as error:
            tail = (Path(tmp) / "operator.log").read_text(errors="replace")[-3000:]
            print(f"operator_memory: {error}\n--- operator log (end) ---\n{tail}", file=sys.stderr)
            return 1
    result["operator_commit"] = git_head(tree)
    right = sum(1 for o in result["outcomes"] if o["right"])
    c.print_table(
        f"Operator memory: {trials} trials at once, {megabytes:g} MB of output each "
        f"(operator at {result['operator_commit']})",
        ["RSS before MiB", "peak RSS MiB", "growth MiB", "study", "metrics right", "seconds"],
        [
            [
                f"{result['rss_mib_before']:.0f}",
                f"{result['rss_mib_peak']:.0f}",
                f"{result['peak_growth_mib']:.0f}",
                result["study_state"],
                f"{right}/{trials}",
                f"{result['seconds']:.0f}",
            ]
        ],
    )
    c.write_results(args.out, args.name, {"limit_mib": LIMIT_MIB, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())

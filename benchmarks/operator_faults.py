"""What API faults, restarts and finished studies cost the operator (the real process).

Against the Kubernetes API emulator of `tests/cluster/` with instant trials, as in
`operator_scale.py`:

- faults: one study run clean, then the same study through `FaultInjectingProxy` (a
  seeded share of requests answered 500/429/409, watches and logs cut) at each rate;
  wall time from the Study's creation to its last trial counted, and whether every trial
  ran exactly once (names 0..N-1, one pod each, all Succeeded);
- restarts: one replica with peering on (the default), killed with SIGKILL and started
  again while a study runs, several times: seconds from the new process's start, and from
  its "watching" log line, to the next trial it creates;
- idle: the operator's CPU share and API requests per minute while the only Study is a
  finished one.

`--operator-path DIR` runs the operator from another checkout's `operator/` folder (say,
an older commit's), so old and new are measured side by side on the same harness.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))  # the API emulator lives in tests/cluster

import _common as c  # noqa: E402
from operator_scale import GROUP, OperatorProcess, counts, manifest, trial_exists, wait  # noqa: E402

NAME = "operator_faults"


def _env(env: dict[str, str], operator_path: str | None) -> dict[str, str]:
    if operator_path:
        env = {**env, "PYTHONPATH": f"{operator_path}{os.pathsep}{env.get('PYTHONPATH', '')}"}
    return env


def _exactly_once(cluster: Any, name: str, trials: int) -> bool:
    listed = cluster.list("trials", "default", GROUP, f"tradeoff.dev/study={name}")
    numbers = sorted(t["spec"]["number"] for t in listed)
    pods = sorted(p["metadata"]["name"] for p in cluster.list("pods", "default"))
    return (
        numbers == list(range(trials))
        and all((t.get("status") or {}).get("state") == "Succeeded" for t in listed)
        and pods == sorted(f"{name}-{i:04d}-a1" for i in range(trials))
    )


def faulted_run(
    trials: int, parallelism: int, rate: float, seed: int, workdir: Path, path: str | None
) -> dict[str, Any]:
    """One study, clean (`rate` 0) or through the fault-injecting proxy."""
    from tests.cluster.faultproxy import FaultInjectingProxy
    from tests.cluster.harness import Cluster

    name = "faults"
    with Cluster(max_concurrent=max(parallelism, 8)) as cluster:
        proxy = FaultInjectingProxy(cluster.url, rate=rate, seed=seed).start()
        try:
            kubeconfig = proxy.write_kubeconfig(workdir / f"proxy-{rate}", "default")
            env = cluster.env() if rate == 0 else {**cluster.env(), "KUBECONFIG": str(kubeconfig)}
            log = workdir / f"operator-{rate}.log"
            op = OperatorProcess(_env(env, path), log)
            wait(lambda: "Tradeoff operator watching" in log.read_text(), 120)
            cluster.apply(manifest(name, trials, parallelism))
            seconds = wait(lambda: counts(cluster, name).get("succeeded", 0) >= trials, 900, 0.1)
            op.kill()
            once = _exactly_once(cluster, name, trials)
        finally:
            proxy.stop()
    injected: dict[str, int] = {}
    for (kind, what), n in proxy.injected.items():
        injected[f"{kind} {what}"] = n
    return {"rate": rate, "seconds": seconds, "exactly_once": once, "injected": injected}


def _logged_at(log: str, text: str, after: int) -> datetime:
    line = next(line for line in log[after:].splitlines() if text in line)
    return datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")


def restarts(count: int, workdir: Path, path: str | None) -> list[dict[str, float]]:
    """Kill the one replica and start another, `count` times, while a study runs."""
    from tests.cluster.harness import Cluster

    name, log = "restarts", workdir / "restarts.log"
    found: list[dict[str, float]] = []
    with Cluster() as cluster:
        env, peering = _env(cluster.env(), path), {"TRADEOFF_STANDALONE": ""}
        op = OperatorProcess(env, log, peering)
        cluster.apply(manifest(name, 1, 1))
        wait(lambda: counts(cluster, name).get("succeeded", 0) >= 1, 120)
        for k in range(count):
            op.kill()
            study = cluster.get("studies", name, group=GROUP)
            assert study is not None
            study["spec"]["budget"]["maxTrials"] = k + 2
            study["metadata"].pop("resourceVersion", None)
            cluster.apply(study)
            offset = len(log.read_text())
            op = OperatorProcess(env, log, peering)
            seconds = wait(lambda k=k: trial_exists(cluster, name, k + 1), 300, 0.1)
            wait(lambda at=offset: "Created trial" in log.read_text()[at:], 30, 0.1)
            text = log.read_text()
            up = _logged_at(text, "Tradeoff operator watching", offset)
            created = _logged_at(text, "Created trial", offset)
            found.append({"seconds": seconds, "after_up": (created - up).total_seconds()})
            print(f"  restart {k + 1}: {seconds:.1f} s", flush=True)
        op.kill()
    return found


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle(trials: int, seconds: float, workdir: Path, path: str | None) -> dict[str, float]:
    """CPU and API requests of an operator whose one Study has finished (default interval)."""
    from tests.cluster.harness import Cluster

    name = "idle"
    with Cluster(max_concurrent=50, history_size=max(20000, trials * 12)) as cluster:
        default_interval = {"TRADEOFF_RECONCILE_INTERVAL": "10"}
        op = OperatorProcess(_env(cluster.env(), path), workdir / "idle.log", default_interval)
        cluster.apply(manifest(name, trials, 50))
        wait(lambda: counts(cluster, name).get("succeeded", 0) >= trials, 1800, 0.5)
        time.sleep(15)  # the last daemons and passes settle
        before, cpu = cluster.request_counts(), _cpu_seconds(op.process.pid)
        time.sleep(seconds)
        used = _cpu_seconds(op.process.pid) - cpu
        requests = sum((cluster.request_counts() - before).values())
        op.kill()
    return {"cpu_percent": 100 * used / seconds, "requests_per_minute": 60 * requests / seconds}


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--trials", type=int, default=None, help="trials per study (default 200)")
        p.add_argument("--parallelism", type=int, default=10)
        p.add_argument("--rates", default="0.02,0.05,0.07", help="fault rates to run")
        p.add_argument("--restarts", type=int, default=None, help="restarts (default 6)")
        p.add_argument("--idle-trials", type=int, default=None, help="default 2000")
        p.add_argument("--idle-seconds", type=float, default=None, help="default 60")
        p.add_argument("--seed", type=int, default=7, help="seed of the injected faults")
        p.add_argument("--operator-path", default=None, help="run the operator from here")
        p.add_argument("--label", default="this checkout", help="what is measured")
        p.add_argument("--parts", default="faults,restarts,idle", help="which parts to run")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    trials = args.trials or (10 if args.quick else 200)
    rates = [0.0, *(float(r) for r in args.rates.split(",") if r)]
    parts = set(args.parts.split(","))
    result: dict[str, Any] = {"label": args.label, "trials": trials, "runs": []}
    with tempfile.TemporaryDirectory(prefix="tradeoff-faults-") as tmp:
        workdir, path = Path(tmp), args.operator_path
        for rate in rates if "faults" in parts else []:
            run = faulted_run(trials, args.parallelism, rate, args.seed, workdir, path)
            print(f"  faults {rate:.0%}: {run['seconds']:.1f} s, once: {run['exactly_once']}")
            result["runs"].append(run)
        if "restarts" in parts:
            count = args.restarts or (2 if args.quick else 6)
            result["restarts"] = restarts(count, workdir, path)
        if "idle" in parts:
            idle_trials = args.idle_trials or (20 if args.quick else 2000)
            idle_seconds = args.idle_seconds or (10 if args.quick else 60)
            found = idle(idle_trials, idle_seconds, workdir, path)
            result["idle"] = {"trials": idle_trials, **found}
    if result["runs"]:
        clean = result["runs"][0]["seconds"]
        c.print_table(
            f"Operator under API faults ({args.label}): {trials} instant trials",
            ["faults", "wall time s", "x clean", "every trial exactly once"],
            [
                [
                    f"{r['rate']:.0%}",
                    f"{r['seconds']:.1f}",
                    f"{r['seconds'] / clean:.2f}",
                    str(r["exactly_once"]),
                ]
                for r in result["runs"]
            ],
        )
    if "restarts" in result:
        print(
            "next trial after a restart (s from start / from up):",
            ", ".join(f"{w['seconds']:.1f}/{w['after_up']:.1f}" for w in result["restarts"]),
        )
    if "idle" in result:
        i = result["idle"]
        print(
            f"idle with one finished {i['trials']}-trial study: {i['cpu_percent']:.1f}% CPU, "
            f"{i['requests_per_minute']:.0f} API requests per minute"
        )
    c.write_results(args.out, NAME, {"pid": os.getpid(), **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())

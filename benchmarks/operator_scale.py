"""The operator at scale: the real operator process against the Kubernetes API emulator.

Trials finish at once (the local kubelet's instant mode: no process starts, the pod's log
holds one metric line), so what is measured is the operator itself: trials completed per
second, API requests per trial, the operator's memory (RSS) as the trial count grows, and
how long a restarted operator takes to pick the study up again (kill -9 after the study
finished, raise maxTrials by a few, start a new operator, time until it creates the next
trial; the same measured on an empty study gives the start-up baseline). The emulator
runs in this process: its CPU time over the run (the API emulator, its kubelet and the
sampling loop) per API request is recorded too, and the connections clients opened.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
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

NAME = "operator_scale"
GROUP = "tradeoff.dev"
INSTANT = "tradeoff-harness-instant"
KINDS = (("studies", GROUP), ("trials", GROUP), ("pods", ""))
OPERATOR_ENV = {
    "TRADEOFF_RECONCILE_INTERVAL": "1",
    "TRADEOFF_STATUS_INTERVAL": "1",
    "TRADEOFF_STANDALONE": "true",
}


def manifest(name: str, trials: int, parallelism: int, objectives: int = 1) -> dict[str, Any]:
    """The study: random search over one float; a second objective is the built-in cost."""
    goals = [{"name": "accuracy", "direction": "maximize"}]
    if objectives > 1:
        goals.append({"name": "cost", "direction": "minimize"})
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Study",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "objectives": goals,
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "algorithm": {"name": "random", "seed": 1},
            "budget": {"maxTrials": trials, "parallelism": parallelism, "maxFailedTrials": 10},
            "trialTemplate": {
                "pod": {
                    "containers": [
                        {
                            "name": "trial",
                            "image": "tradeoff:0.1.0",
                            "command": [INSTANT],
                            "args": ['TRADEOFF_METRICS {"accuracy": ${params.x}}'],
                            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                        }
                    ]
                }
            },
        },
    }


class OperatorProcess:
    """``tradeoff operator`` as a child process; RSS read from /proc."""

    def __init__(
        self,
        env: dict[str, str],
        log: Path,
        overrides: dict[str, str] | None = None,
        profile: Path | None = None,
    ) -> None:
        self._log = log.open("a")
        self.profile = profile
        start = ["-m", "tradeoff.cli"]
        if profile is not None:
            start = [str(BENCH / "_profiled_operator.py")]
            overrides = {**(overrides or {}), "TRADEOFF_PROFILE_OUT": str(profile)}
        command = [sys.executable, *start, "operator", "--namespace", "default"]
        self.process = subprocess.Popen(
            command,
            env={**env, **OPERATOR_ENV, **(overrides or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=BENCH.parent,
        )
        self.started = time.perf_counter()

    def rss_mib(self) -> tuple[float, float]:
        """Current and peak resident memory in MiB."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU time the operator has used so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def dump_profile(self) -> None:
        """Have a profiled operator write its profile (`_profiled_operator.py`)."""
        if self.profile is None:
            return
        done = Path(str(self.profile) + ".done")
        self.process.send_signal(signal.SIGUSR1)
        wait(done.exists, 120)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self._log.close()


def env_pair(text: str) -> tuple[str, str]:
    """NAME=VALUE from the command line."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def counts(cluster: Any, name: str) -> dict[str, int]:
    found = cluster.get("studies", name, group=GROUP) or {}
    return ((found.get("status") or {}).get("trials")) or {}


def trial_exists(cluster: Any, name: str, number: int) -> bool:
    return cluster.get("trials", f"{name}-{number:04d}", group=GROUP) is not None


def seconds_since_watching(log: Path, now: float) -> float | None:
    """Seconds from the last operator's "watching" log line (its start-up done) to `now`
    (wall clock): the restart without the interpreter's imports, which a loaded machine
    slows most."""
    found = None
    for line in log.read_text(errors="replace").splitlines():
        if "Tradeoff operator watching" in line and line.startswith("["):
            found = line[1:24]
    if found is None:
        return None
    when = dt.datetime.strptime(found, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    return now - when


def wait(predicate: Any, timeout: float, interval: float = 0.2) -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"not reached within {timeout:.0f} s")
        time.sleep(interval)
    return time.perf_counter() - started


def start_profile() -> None:
    """Profile this process (the emulator, its kubelet and the sampling loop) with yappi."""
    import yappi  # type: ignore[import-untyped]

    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)


def save_profile(out: Path) -> None:
    """Write the profile started by `start_profile` (pstats, and a text summary beside it)."""
    import io
    import pstats

    import yappi

    yappi.stop()
    yappi.get_func_stats().save(str(out), type="pstat")
    text = io.StringIO()
    report = pstats.Stats(str(out), stream=text)
    report.sort_stats("tottime").print_stats(40)
    report.sort_stats("cumulative").print_stats(60)
    Path(str(out) + ".txt").write_text(text.getvalue())


def rate_between(samples: list[dict[str, float]], low: float, high: float) -> float | None:
    """Trials per second while the succeeded count went from `low` to `high`."""
    start = next((s for s in samples if s["succeeded"] >= low), None)
    end = next((s for s in samples if s["succeeded"] >= high), None)
    if start is None or end is None or end["seconds"] <= start["seconds"]:
        return None
    return (end["succeeded"] - start["succeeded"]) / (end["seconds"] - start["seconds"])


def cpu_ms_per_trial_between(
    samples: list[dict[str, float]], low: float, high: float, key: str
) -> float | None:
    """CPU ms (`key`: the operator's or the emulator's) per trial completed while the
    succeeded count went from `low` to `high`."""
    start = next((s for s in samples if s["succeeded"] >= low), None)
    end = next((s for s in samples if s["succeeded"] >= high), None)
    if start is None or end is None or end["succeeded"] <= start["succeeded"]:
        return None
    return 1000 * (end[key] - start[key]) / (end["succeeded"] - start["succeeded"])


def run(
    trials: int,
    parallelism: int,
    timeout: float,
    workdir: Path,
    objectives: int = 1,
    operator_path: str | None = None,
    profile: Path | None = None,
    dump_to: Path | None = None,
    operator_env: dict[str, str] | None = None,
    profile_emulator: Path | None = None,
) -> dict[str, Any]:
    from tests.cluster.harness import Cluster

    name = "scale"
    log = workdir / "operator.log"
    with Cluster(
        max_concurrent=max(parallelism, 8), history_size=max(20000, trials * 12)
    ) as cluster:
        env = cluster.env()
        if operator_path:  # another checkout's operator (say, main's, side by side)
            tree = Path(operator_path).resolve()
            env["PYTHONPATH"] = f"{tree / 'operator'}{os.pathsep}{tree}"
        op = OperatorProcess(env, log, overrides=operator_env, profile=profile)
        cluster.apply(manifest(name, trials, parallelism, objectives))
        first = wait(lambda: trial_exists(cluster, name, 0), 120)
        started = time.perf_counter()
        emulator_cpu_started = time.process_time()
        if profile_emulator is not None:
            start_profile()
        samples: list[dict[str, float]] = []
        while counts(cluster, name).get("succeeded", 0) < trials:
            if op.process.poll() is not None:
                raise RuntimeError(f"the operator exited ({op.process.returncode}); see {log}")
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"{counts(cluster, name)} after {timeout:.0f} s; see {log}")
            done = counts(cluster, name).get("succeeded", 0)
            rss, peak = op.rss_mib()
            samples.append(
                {
                    "seconds": time.perf_counter() - started,
                    "succeeded": done,
                    "rss_mib": rss,
                    "cpu_seconds": op.cpu_seconds(),
                    "emulator_cpu_seconds": time.process_time() - emulator_cpu_started,
                }
            )
            if len(samples) % 60 == 0:
                print(
                    f"  {samples[-1]['seconds']:.0f} s: {done} succeeded, RSS {rss:.0f} MiB",
                    flush=True,
                )
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
        rss, peak = op.rss_mib()
        cpu = op.cpu_seconds()
        emulator_cpu = time.process_time() - emulator_cpu_started
        if profile_emulator is not None:
            save_profile(profile_emulator)
        samples.append(
            {
                "seconds": elapsed,
                "succeeded": trials,
                "rss_mib": rss,
                "cpu_seconds": cpu,
                "emulator_cpu_seconds": emulator_cpu,
            }
        )
        load = os.getloadavg()
        requests = cluster.request_counts()
        connections = cluster.connections()
        op.dump_profile()
        op.kill()
        if dump_to is not None:  # the finished study, for `operator_restart.py --dump`
            found = {kind: cluster.list(kind, group=g) for kind, g in KINDS}
            dump_to.write_text(json.dumps(found))
        # Restart: more budget, a fresh operator, time until it creates the next trial.
        study = cluster.get("studies", name, group=GROUP)
        assert study is not None
        study["spec"]["budget"]["maxTrials"] = trials + 5
        study["metadata"].pop("resourceVersion", None)
        cluster.apply(study)
        op2 = OperatorProcess(env, log, overrides=operator_env)
        resume = wait(lambda: trial_exists(cluster, name, trials), 600, interval=0.05)
        resume_after_watching = seconds_since_watching(log, time.time())
        rss_after_restart = op2.rss_mib()[0]
        op2.kill()
    total_requests = sum(requests.values())
    first_rate = rate_between(samples, 0, trials * 0.1)
    last_rate = rate_between(samples, trials * 0.9, trials)
    return {
        "trials": trials,
        "objectives": objectives,
        "parallelism": parallelism,
        "load_average_at_end": [round(x, 2) for x in load],
        "operator_cpu_seconds": cpu,
        "operator_cpu_ms_per_trial": 1000 * cpu / trials,
        "emulator_cpu_seconds": emulator_cpu,
        "emulator_cpu_ms_per_request": 1000 * emulator_cpu / max(total_requests, 1),
        "trials_per_second_first_10pct": first_rate,
        "trials_per_second_last_10pct": last_rate,
        "last_to_first_ratio": (last_rate / first_rate) if first_rate and last_rate else None,
        **{
            f"{who}_cpu_ms_per_trial_{part}_10pct": cpu_ms_per_trial_between(
                samples, low * trials, high * trials, key
            )
            for who, key in (("operator", "cpu_seconds"), ("emulator", "emulator_cpu_seconds"))
            for part, low, high in (("first", 0.0, 0.1), ("last", 0.9, 1.0))
        },
        "seconds_to_first_trial_on_empty_study": first,
        "seconds": elapsed,
        "trials_per_second": trials / elapsed,
        "api_requests": total_requests,
        "api_requests_per_trial": total_requests / trials,
        "connections_opened": connections,
        "requests_by_kind": {
            f"{verb} {resource}": n for (verb, resource), n in requests.most_common(15)
        },
        "rss_mib_at_end": rss,
        "rss_mib_peak": peak,
        "rss_mib_after_restart": rss_after_restart,
        "seconds_to_resume_after_restart": resume,
        "seconds_to_resume_after_watching": resume_after_watching,
        "samples": samples,
    }


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument(
            "--trials",
            type=int,
            default=None,
            help="trials to run (default 1000, about half a minute; 10000 took 11 minutes)",
        )
        p.add_argument("--parallelism", type=int, default=50)
        p.add_argument(
            "--objectives",
            type=int,
            choices=(1, 2),
            default=1,
            help="1: accuracy; 2: accuracy and the built-in cost",
        )
        p.add_argument("--name", default=NAME, help=f"results file name (default {NAME})")
        p.add_argument(
            "--env",
            type=env_pair,
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="an environment variable for the operator, e.g. TRADEOFF_DELETE_ENDED_PODS=true",
        )
        p.add_argument(
            "--operator-tree",
            default=None,
            help="run the operator of another checkout (its root folder), say main's",
        )
        p.add_argument(
            "--profile",
            type=Path,
            default=None,
            help="profile the operator (yappi, every thread, CPU time) into this pstats file",
        )
        p.add_argument(
            "--profile-emulator",
            type=Path,
            default=None,
            help="profile the emulator's process (yappi, every thread, CPU time) likewise",
        )
        p.add_argument(
            "--timeout", type=float, default=3000.0, help="give up after this many seconds"
        )
        p.add_argument(
            "--dump-to",
            type=Path,
            default=None,
            help="write the finished study's objects here (for operator_restart.py --dump)",
        )

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    trials = args.trials or (20 if args.quick else 1000)
    with tempfile.TemporaryDirectory(prefix="tradeoff-scale-") as tmp:
        try:
            result = run(
                trials,
                args.parallelism,
                args.timeout,
                Path(tmp),
                args.objectives,
                args.operator_tree,
                args.profile,
                args.dump_to,
                dict(args.env),
                args.profile_emulator,
            )
        except (TimeoutError, RuntimeError) as error:
            tail = (Path(tmp) / "operator.log").read_text(errors="replace")[-3000:]
            print(f"operator_scale: {error}\n--- operator log (end) ---\n{tail}", file=sys.stderr)
            return 1
    c.print_table(
        f"Operator with instant trials: {trials} trials, {args.objectives} objective(s), "
        f"parallelism {args.parallelism}",
        [
            "trials/s",
            "first 10% / last 10%",
            "CPU ms per trial",
            "CPU ms per trial first 10% / last 10% (emulator's)",
            "emulator CPU ms per request",
            "API requests per trial",
            "RSS at end MiB",
            "peak RSS MiB",
            "resume after restart s (after watching)",
            "first trial on empty study s",
        ],
        [
            [
                f"{result['trials_per_second']:.1f}",
                f"{result['trials_per_second_first_10pct'] or 0:.1f} / "
                f"{result['trials_per_second_last_10pct'] or 0:.1f}",
                f"{result['operator_cpu_ms_per_trial']:.1f}",
                f"{result['operator_cpu_ms_per_trial_first_10pct'] or 0:.1f} / "
                f"{result['operator_cpu_ms_per_trial_last_10pct'] or 0:.1f} "
                f"({result['emulator_cpu_ms_per_trial_first_10pct'] or 0:.1f} / "
                f"{result['emulator_cpu_ms_per_trial_last_10pct'] or 0:.1f})",
                f"{result['emulator_cpu_ms_per_request']:.2f}",
                f"{result['api_requests_per_trial']:.1f}",
                f"{result['rss_mib_at_end']:.0f}",
                f"{result['rss_mib_peak']:.0f}",
                f"{result['seconds_to_resume_after_restart']:.1f} "
                f"({result['seconds_to_resume_after_watching'] or 0:.1f})",
                f"{result['seconds_to_first_trial_on_empty_study']:.1f}",
            ]
        ],
    )
    print(
        "requests by kind:", ", ".join(f"{k}: {v}" for k, v in result["requests_by_kind"].items())
    )
    tree = {"operator_tree": args.operator_tree} if args.operator_tree else {}
    tree |= {"operator_env": dict(args.env)} if args.env else {}
    c.write_results(args.out, args.name, {"pid": os.getpid(), **tree, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())

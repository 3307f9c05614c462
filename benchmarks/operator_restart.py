"""A restarted operator on a finished study: several operators side by side, same cluster.

The emulator is seeded with the Study, Trials and pods of a finished run (a JSON file
`{"studies": [...], "trials": [...], "pods": [...]}` as `--dump` reads them, say from
`operator_scale.py --dump-to`), then each operator tree in turn is started on it, with
`maxTrials` raised by one each time, and timed until it creates the next trial: from the
process's start and from its "watching" line, with its RSS then and a few seconds later
and its CPU time. The trees take turns (A B A B ...) so the machine's load falls on each
alike. No kubelet runs: the new trial's pod is never started, only its Trial is timed.

The operator runs standalone, as `operator_scale.py` runs it; `--peering` also starts
each tree with peering on (the chart's default: kopf's peering object, the replica acting
once kopf says it may), the two modes taking turns as the trees do.
"""

from __future__ import annotations

import json
import os
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
import operator_scale as scale  # noqa: E402

NAME = "operator_restart"
GROUP = scale.GROUP
SETTLE = 5.0
"""Seconds the operator runs after creating the trial before its RSS is read again."""


def seed(cluster: Any, dump: dict[str, Any]) -> tuple[str, int]:
    """Create the dump's Study, Trials and pods with their statuses; (study, its trials)."""
    store = cluster.api
    (study,) = dump["studies"]
    name = study["metadata"]["name"]
    fresh = {k: study[k] for k in ("apiVersion", "kind", "spec")}
    created = cluster.apply({**fresh, "metadata": {"name": name, "namespace": "default"}})
    _set_status(store, cluster.resource("studies", GROUP), name, study["status"])
    owner = created["metadata"]["uid"]
    trials = cluster.resource("trials", GROUP)
    for trial in dump["trials"]:
        meta = trial["metadata"]
        body = {
            "apiVersion": trial["apiVersion"],
            "kind": trial["kind"],
            "metadata": {
                "name": meta["name"],
                "namespace": "default",
                "labels": meta.get("labels", {}),
                "ownerReferences": [{**ref, "uid": owner} for ref in meta["ownerReferences"]],
            },
            "spec": trial["spec"],
        }
        store.create(trials, "default", body)
        _set_status(store, trials, meta["name"], trial["status"])
    pods = cluster.resource("pods")
    uids = {t["metadata"]["name"]: t for t in cluster.list("trials", group=GROUP)}
    for pod in dump["pods"]:
        meta = pod["metadata"]
        refs = meta.get("ownerReferences") or []
        for ref in refs:
            if ref.get("kind") == "Trial" and ref.get("name") in uids:
                ref["uid"] = uids[ref["name"]]["metadata"]["uid"]
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": meta["name"],
                "namespace": "default",
                "labels": meta.get("labels", {}),
                "ownerReferences": refs,
            },
            "spec": pod["spec"],
        }
        store.create(pods, "default", body)
        _set_status(store, pods, meta["name"], pod["status"])
    return name, len(dump["trials"])


def _set_status(store: Any, rt: Any, name: str, status: dict[str, Any]) -> None:
    store.patch(rt, "default", name, "application/merge-patch+json", {"status": status},
                subresource="status")  # fmt: skip


def raise_budget(cluster: Any, name: str, to: int) -> None:
    study = cluster.get("studies", name, group=GROUP)
    study["spec"]["budget"]["maxTrials"] = to
    study["metadata"].pop("resourceVersion", None)
    cluster.apply(study)


def restart(
    cluster: Any,
    name: str,
    number: int,
    tree: str,
    workdir: Path,
    overrides: dict[str, str],
    mode: str = "standalone",
) -> dict[str, Any]:
    """Start the operator of `tree`; time it until it creates trial `number`."""
    env = cluster.env()
    root = Path(tree).resolve()
    env["PYTHONPATH"] = f"{root / 'operator'}{os.pathsep}{root}"
    log = workdir / f"operator-{number}.log"
    if mode == "peering":
        overrides = {**overrides, "TRADEOFF_STANDALONE": "false"}
    op = scale.OperatorProcess(env, log, overrides)
    try:
        took = scale.wait(lambda: scale.trial_exists(cluster, name, number), 600, 0.05)
        after_watching = scale.seconds_since_watching(log, time.time())
        cpu, (rss, peak) = op.cpu_seconds(), op.rss_mib()
        time.sleep(SETTLE)
        rss_later, peak_later = op.rss_mib()
    finally:
        op.kill()
    return {
        "tree": tree,
        "mode": mode,
        "next_trial": number,
        "seconds_from_start": took,
        "seconds_from_watching": after_watching,
        "cpu_seconds_until_then": cpu,
        "rss_mib_then": rss,
        f"rss_mib_{SETTLE:.0f}s_later": rss_later,
        "rss_mib_peak": max(peak, peak_later),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--dump", type=Path, required=True, help="the finished run (JSON)")
        p.add_argument("--trees", nargs="+", required=True, help="operator checkouts to compare")
        p.add_argument("--rounds", type=int, default=2, help="restarts of each tree")
        p.add_argument("--name", default=NAME, help=f"results file name (default {NAME})")
        p.add_argument(
            "--peering", action="store_true", help="also run each tree with peering (in turns)"
        )
        p.add_argument(
            "--env",
            type=scale.env_pair,
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="an environment variable for the operator, e.g. TRADEOFF_DELETE_ENDED_PODS=true",
        )

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    from tests.cluster.harness import Cluster

    dump = json.loads(args.dump.read_text())
    runs: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="tradeoff-restart-") as tmp,
        Cluster(kubelet=False, history_size=50000) as cluster,
    ):
        started = time.perf_counter()
        name, trials = seed(cluster, dump)
        print(f"seeded {trials} trials in {time.perf_counter() - started:.0f} s", flush=True)
        modes = ["standalone", "peering"] if args.peering else ["standalone"]
        for _ in range(args.rounds):
            for tree in args.trees:
                for mode in modes:
                    number = trials + len(runs)
                    raise_budget(cluster, name, number + 1)
                    run = restart(cluster, name, number, tree, Path(tmp), dict(args.env), mode)
                    print(json.dumps(run), flush=True)
                    runs.append(run)
    c.print_table(
        f"Restart on a finished study of {trials} trials",
        ["tree", "mode", "from start s", "from watching s", "CPU s", "RSS", "RSS later", "load"],
        [
            [
                r["tree"],
                r["mode"],
                f"{r['seconds_from_start']:.1f}",
                f"{r['seconds_from_watching'] or 0:.1f}",
                f"{r['cpu_seconds_until_then']:.1f}",
                f"{r['rss_mib_then']:.0f}",
                f"{r[f'rss_mib_{SETTLE:.0f}s_later']:.0f}",
                f"{r['load_average'][0]:.1f}",
            ]
            for r in runs
        ],
    )
    c.write_results(args.out, args.name, {"trials": trials, "env": dict(args.env), "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The operator's reads at scale: Trials and pods come from its watches, not from lists.

Instant trials (the local kubelet's instant mode: no process, the log holds one metric
line), so what is counted is the operator's own requests.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import REPO, Operator, apply, study_manifest, trials, wait_study

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
INSTANT = "tradeoff-harness-instant"


def instant_study(name: str, max_trials: int) -> dict[str, object]:
    manifest = study_manifest(name, budget={"maxTrials": max_trials, "parallelism": 10})
    container = manifest["spec"]["trialTemplate"]["pod"]["containers"][0]
    container["command"] = [INSTANT]
    container["args"] = ['TRADEOFF_METRICS {"accuracy": ${params.x}}']
    return manifest


def test_a_study_lists_its_trials_once_and_costs_at_most_ten_requests_a_trial(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    count = 60
    operator("--standalone")
    apply(cluster, instant_study("counted", count))
    done = wait_study(cluster, "counted", timeout=180)
    assert done["status"]["state"] == "Succeeded"
    assert done["status"]["trials"]["succeeded"] == count
    assert len(trials(cluster, "counted")) == count  # none doubled
    requests = cluster.request_counts()
    # Each pass used to list every Trial and Pod of the study, and each driver polled its
    # pod and read its Study and Trial again at every step.
    # One list each for kopf's watch, one for the first pass over the study (it primes).
    assert requests[("list", "trials.tradeoff.dev")] <= 2
    assert requests[("list", "pods")] <= 2
    assert requests[("get", "pods")] <= count // 4  # only pods no event reported in time
    assert requests[("get", "studies.tradeoff.dev")] <= count  # passes, not trial steps
    assert requests[("get", "nodes")] <= 2
    # Answers are read to their end, so connections go back to the pool and are used
    # again (an unread answer's connection is dropped: two new connections a trial).
    assert cluster.connections() <= 40, f"{cluster.connections()} connections opened"
    per_trial = sum(requests.values()) / count
    assert per_trial <= 10.0, f"{per_trial:.1f} requests per trial: {requests.most_common(8)}"


def test_the_restart_benchmark_times_each_tree_on_a_finished_run(tmp_path: Path) -> None:
    """`operator_scale.py --dump-to` then `operator_restart.py` on it (a small run), the
    tree started standalone and then with peering."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import operator_restart
        import operator_scale
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    dump = tmp_path / "run.json"
    work = tmp_path / "scale"
    work.mkdir()
    operator_scale.run(6, 3, 120, work, dump_to=dump)
    found = json.loads(dump.read_text())
    assert len(found["trials"]) == 6 and len(found["pods"]) == 6
    args = ["--dump", str(dump), "--trees", str(REPO), "--rounds", "1", "--out", str(tmp_path)]
    assert operator_restart.main([*args, "--peering"]) == 0
    alone, peering = json.loads((tmp_path / "operator_restart.json").read_text())["runs"]
    assert (alone["mode"], peering["mode"]) == ("standalone", "peering")
    assert (alone["next_trial"], peering["next_trial"]) == (6, 7)
    for run in (alone, peering):
        assert run["seconds_from_start"] > 0 and run["rss_mib_then"] > 50

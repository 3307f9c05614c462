"""The operator's informers of Trials and pods through cut watches and a compacted history."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cluster.faultproxy import FaultInjectingProxy
from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, state, study_manifest, wait_study
from tests.e2e.test_operator_faults import TRIALS, assert_each_trial_once

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]


def test_cut_watches_and_410s_lose_and_double_nothing(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    """Every watch cut after 0.3-1.5 s (cleanly or mid-stream) and the server's history
    compacted every second, so a watch resumed from its last resourceVersion often gets
    410 Gone and its informer lists everything again: every trial still runs once."""
    with FaultInjectingProxy(cluster.url, rate=0.0, seed=3, cut_after=(0.3, 1.5)) as proxy:
        kubeconfig = proxy.write_kubeconfig(tmp_path / "cutting-kubeconfig", cluster.namespace)
        op = operator("--standalone", env={"KUBECONFIG": str(kubeconfig)})
        cluster.wait_for(lambda: "Tradeoff operator watching" in op.log, timeout=30)
        stop = threading.Event()

        def compact() -> None:
            while not stop.wait(1.0):
                cluster.api.compact()

        compactor = threading.Thread(target=compact, daemon=True)
        compactor.start()
        try:
            manifest = study_manifest(
                "cut", budget={"maxTrials": TRIALS, "parallelism": 2}, env={"SLEEP": "1.0"}
            )
            apply(cluster, manifest)
            done = wait_study(cluster, "cut", timeout=120)
        finally:
            stop.set()
            compactor.join()
        cuts = {kind: n for kind, n in proxy.injected.items() if kind[0].startswith("cut")}
    assert state(done) == "Succeeded"
    assert_each_trial_once(cluster, "cut")
    assert sum(cuts.values()) >= 4, cuts
    assert "listing again" in op.log  # a 410 was answered, and served by a new listing

"""E2E fixtures: the real operator as a subprocess against the API emulator + local kubelet.

`operator()` starts `tradeoff operator --namespace default` with the cluster's kubeconfig;
tests kill, restart and stop it like any process.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.cluster.fixtures import cluster
from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator

__all__ = ["cluster", "operator"]


@pytest.fixture
def operator(cluster: Cluster, tmp_path: Path) -> Iterator[Callable[..., Operator]]:
    """Start operators on demand: `operator("--standalone", env={...})`; all stop at the end."""
    started: list[Operator] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Operator:
        log = tmp_path / f"operator-{len(started)}.log"
        flags = (
            list(args)
            if any(a.startswith(("--namespace", "--all-namespaces")) for a in args)
            else ["--namespace", cluster.namespace, *args]
        )
        op = Operator(cluster, flags, env or {}, log)
        started.append(op)
        return op

    yield start
    for op in started:
        op.kill()  # quick; a graceful stop is tested where it matters
    if os.environ.get("TRADEOFF_E2E_SHOW_LOGS"):
        for op in started:
            print(op.log)

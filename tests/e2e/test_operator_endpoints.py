"""The real operator's health and metrics endpoints: where they listen, and `/readyz`."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator
from tests.unit.test_endpoints import OTHER, free_port, get, refused

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if get(url)[0] == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    pytest.fail(f"{url} never answered 200")


def test_the_operator_listens_only_on_the_configured_address(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    health, metrics = free_port(OTHER), free_port(OTHER)
    running = operator(
        f"--health-address={OTHER}",
        f"--health-port={health}",
        f"--metrics-address={OTHER}",
        f"--metrics-port={metrics}",
    )
    wait_ready(f"http://{OTHER}:{health}/readyz")
    assert get(f"http://{OTHER}:{health}/healthz") == (200, "ok\n")
    code, text = get(f"http://{OTHER}:{metrics}/metrics")
    assert code == 200 and "tradeoff_reconcile_errors_total" in text
    assert refused("127.0.0.1", health) and refused("127.0.0.1", metrics)
    assert f"health: /healthz and /readyz on {OTHER} port {health}" in running.log
    assert running.stop() == 0


def test_the_default_address_is_loopback_only(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    health = free_port()
    running = operator(f"--health-port={health}")
    wait_ready(f"http://127.0.0.1:{health}/readyz")
    assert refused(OTHER, health)  # 127.0.0.1 only, not every address
    assert running.stop() == 0


def test_a_taken_port_exits_2_with_one_line(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        running = operator(f"--metrics-port={port}")
        assert running.wait_exit(30) == 2
    lines = [line for line in running.log.splitlines() if line.startswith("tradeoff operator:")]
    assert lines == [
        f"tradeoff operator: --metrics-address/--metrics-port: cannot listen on"
        f" 127.0.0.1:{port} (Address already in use)"
    ], running.log
    assert "Traceback" not in running.log

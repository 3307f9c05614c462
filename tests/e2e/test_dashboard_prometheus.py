"""Every query of the Grafana dashboard returns data from a real Prometheus.

A real local study (trials as subprocesses) feeds a `PrometheusObserver`; its registry is
served over HTTP on loopback; Prometheus (Debian package `prometheus`) scrapes it every
second; then each dashboard query, templating variables substituted, must return data.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, start_http_server

from tradeoff.api import parse_study
from tradeoff.local.display import NullDisplay
from tradeoff.local.runner import LOCAL_NAMESPACE, StudyRunner
from tradeoff.local.store import FileStore
from tradeoff.metrics import PrometheusObserver

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("prometheus") is None,
        reason="needs the prometheus server (Debian: apt-get install prometheus)",
    ),
]

DASHBOARD = (
    Path(__file__).resolve().parents[2] / "charts" / "tradeoff" / "dashboards" / "tradeoff.json"
)
STUDY = "dash"
# Accuracy peaks at x = 0.3; x > 0.85 crashes, so some trials fail.
TRIAL = (
    "import sys; x = float(sys.argv[1]); "
    "sys.exit(3) if x > 0.85 else print(f'accuracy={1 - (x - 0.3) ** 2}')"
)
MANIFEST: dict[str, Any] = {
    "apiVersion": "tradeoff.dev/v1alpha1",
    "kind": "Study",
    "metadata": {"name": STUDY},
    "spec": {
        "objectives": [
            {"name": "accuracy", "direction": "maximize"},
            {"name": "duration", "direction": "minimize"},
        ],
        "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
        "algorithm": {"name": "random", "seed": 3},
        "budget": {"maxTrials": 8, "parallelism": 2, "maxFailedTrials": 8},
        "trialTemplate": {
            "pod": {
                "containers": [
                    {
                        "name": "trial",
                        "image": "x",
                        "command": ["python", "-c", TRIAL, "${params.x}"],
                    }
                ]
            }
        },
    },
}
VALUES = {
    "namespace": LOCAL_NAMESPACE,
    "study": STUDY,
    "x_objective": "accuracy",
    "y_objective": "duration",
    "__rate_interval": "20s",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def metrics_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real local study run into a fresh registry, served on loopback."""
    registry = CollectorRegistry()
    observer = PrometheusObserver(registry)
    workdir = tmp_path_factory.mktemp("study")
    runner = StudyRunner(
        parse_study(MANIFEST), FileStore(workdir), observer=observer, display=NullDisplay()
    )
    runner.run()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield int(server.server_address[1])
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def prometheus(metrics_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "tradeoff", "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}]}
        ],
    }
    (home / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = free_port()
    log = (home / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={home / 'prometheus.yml'}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: http_ok(f"{url}/-/ready"), 30, "prometheus to be ready")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait_for(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}")


def query(url: str, expr: str) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def concrete(text: str) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: VALUES[m[1]], text)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panel_queries() -> list[tuple[str, str]]:
    return [
        (p["title"], t["expr"])
        for p in dashboard()["panels"]
        if p["type"] != "row"
        for t in p["targets"]
    ]


def test_every_panel_query_returns_data(prometheus: str) -> None:
    queries = [(title, concrete(expr)) for title, expr in panel_queries()]
    # rate() and increase() need two scrapes inside the window: wait until all answer.
    pending = dict.fromkeys(queries)

    def all_answer() -> bool:
        for item in list(pending):
            if query(prometheus, item[1]):
                del pending[item]
        return not pending

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all_answer():
        time.sleep(1)
    assert not pending, "no data for: " + "; ".join(f"{t}: {e}" for t, e in pending)


def test_variable_queries_offer_the_study_and_its_objectives(prometheus: str) -> None:
    expected = {"namespace": {LOCAL_NAMESPACE}, "study": {STUDY}}
    expected |= {key: {"accuracy", "duration"} for key in ("x_objective", "y_objective")}
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", variable["query"]["query"])
        assert match, variable["query"]["query"]
        selector, label = concrete(match[1]), match[2]
        wait_for(lambda s=selector: query(prometheus, s), 30, selector)
        offered = {r["metric"][label] for r in query(prometheus, selector)}
        assert offered == expected[variable["name"]], variable["name"]


def test_the_pareto_chart_gets_one_x_and_one_y_per_point(prometheus: str) -> None:
    (xy,) = [p for p in dashboard()["panels"] if p["type"] == "xychart"]
    x_expr, y_expr = (concrete(t["expr"]) for t in xy["targets"])
    wait_for(lambda: query(prometheus, x_expr) and query(prometheus, y_expr), 30, "front points")
    xs = {r["metric"]["point"]: float(r["value"][1]) for r in query(prometheus, x_expr)}
    ys = {r["metric"]["point"]: float(r["value"][1]) for r in query(prometheus, y_expr)}
    assert xs and xs.keys() == ys.keys()
    # Points are ordered by the first objective (accuracy, on x).
    ordered = [xs[str(i)] for i in range(len(xs))]
    assert ordered == sorted(ordered)
    assert all(0 < x <= 1 for x in ordered)

"""Every query of the Grafana dashboard returns data from a real Prometheus scraping the
real operator.

The cluster harness (API emulator + local kubelet) runs `tradeoff operator --standalone
--metrics-port P`; two studies run there (one with a failing trial, so outcomes differ);
Prometheus (Debian package `prometheus`) scrapes the operator every second while they run
and after they finish; then each dashboard query, templating variables substituted, must
return data.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import QUICK_TRIAL, Operator, apply, study_manifest, trials, wait_study
from tests.e2e.prometheus_server import (
    free_port,
    http_ok,
    query,
    require_prometheus,
    start_prometheus,
    stop_prometheus,
    wait_for,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.xdist_group("dashboard"),  # one worker: its Prometheus starts once
]

DASHBOARD = (
    Path(__file__).resolve().parents[2] / "charts" / "tradeoff" / "dashboards" / "tradeoff.json"
)
STUDY, OTHER = "dash", "dash-other"
# QUICK_TRIAL (accuracy peaks at x = 0.3), except that trial 1 of each study crashes.
TRIAL = (
    "import os, sys\n"
    "if os.environ['TRADEOFF_TRIAL'].endswith('-0001'): sys.exit('crashed on purpose')\n"
    + QUICK_TRIAL
)
VALUES = {
    "namespace": "default",
    "study": STUDY,
    "x_objective": "accuracy",
    "y_objective": "cost",
    "__rate_interval": "20s",
}


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus scraping the operator while two studies run on the emulated cluster, and
    for a few seconds after they finished; yields Prometheus's URL."""
    require_prometheus()  # never skipped
    home = tmp_path_factory.mktemp("dashboard")
    metrics = free_port()
    with Cluster() as cluster:
        process, url = start_prometheus(home, {"tradeoff": metrics})
        flags = ["--namespace", cluster.namespace, "--standalone", "--metrics-port", str(metrics)]
        operator = Operator(cluster, flags, {}, home / "operator.log")
        try:
            wait_for(lambda: http_ok(f"{url}/-/ready"), 30, "prometheus to be ready")
            # Prometheus applies new targets every 5 s: wait for a scrape before the studies.
            wait_for(lambda: query(url, 'up{job="tradeoff"} == 1'), 30, "a first scrape")
            budget = {"maxTrials": 6, "parallelism": 3, "maxFailedTrials": 3}
            # Trials run 3 s, so a 1 s scrape surely sees them Running (the operator records
            # "Running" half a second after a pod starts).
            for name, size in ((STUDY, budget), (OTHER, {**budget, "maxTrials": 2})):
                manifest = study_manifest(name, code=TRIAL, budget=size, env={"SLEEP": "3"})
                result = apply(cluster, manifest)
                assert result.returncode == 0, result.stderr
            for name in (STUDY, OTHER):
                assert wait_study(cluster, name, timeout=60)["status"]["state"] == "Succeeded"
            failed = [t for t in trials(cluster, STUDY) if t["status"]["state"] == "Failed"]
            assert [t["metadata"]["name"] for t in failed] == [f"{STUDY}-0001"]
            finished = 'tradeoff_studies{namespace="default", state="Succeeded"} == 2'
            wait_for(lambda: query(url, finished), 20, "a scrape after both studies finished")
            yield url
        finally:
            operator.kill()
            stop_prometheus(process)


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


def test_prometheus_saw_the_studies_running_and_finished(prometheus: str) -> None:
    running = 'max_over_time(tradeoff_trials{study="dash", state="Running"}[5m])'
    assert float(query(prometheus, running)[0]["value"][1]) >= 1, "scraped while trials ran"
    now = {
        r["metric"]["state"]: float(r["value"][1])
        for r in query(prometheus, 'tradeoff_trials{namespace="default", study="dash"}')
    }
    assert now["Succeeded"] == 5 and now["Failed"] == 1 and now["Running"] == 0, now
    outcomes = 'tradeoff_trials_finished_total{study="dash"}'
    assert {r["metric"]["outcome"] for r in query(prometheus, outcomes)} >= {
        "Succeeded",
        "Failed",
    }


def test_variable_queries_offer_the_studies_and_their_objectives(prometheus: str) -> None:
    expected = {"namespace": {"default"}, "study": {STUDY, OTHER}}
    expected |= {key: {"accuracy", "cost"} for key in ("x_objective", "y_objective")}
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

"""Insights in the cluster: the real operator writes them into the Study's status, posts
an Event once per insight (a restarted operator posts none again), and exports the
parameter importance to Prometheus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    GROUP,
    Operator,
    apply,
    events,
    settle,
    study_manifest,
    wait_study,
)
from tests.e2e.test_operator_study import fetch, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def insight_events(cluster: Cluster, name: str) -> list[str]:
    return sorted(e["message"] for e in events(cluster, name) if e.get("reason") == "Insight")


def importance_lines(port: int) -> list[str]:
    text = fetch(f"http://127.0.0.1:{port}/metrics")[1]
    return sorted(line for line in text.splitlines() if line.startswith("tradeoff_parameter_imp"))


def test_insights_in_status_events_once_and_gauge(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    port = free_port()
    first = operator("--metrics-port", str(port))
    # Trials of 2.5 s: the insights of the first milestone, computed by a child process,
    # come a pass later (seconds on a loaded machine) while the study still runs.
    manifest = study_manifest(
        "seen", budget={"maxTrials": 10, "parallelism": 2}, env={"SLEEP": "2.5"}
    )
    assert apply(cluster, manifest).returncode == 0

    def at_first_milestone() -> dict[str, Any] | None:
        found = cluster.get("studies", "seen", group=GROUP)
        status = (found or {}).get("status") or {}
        return status if status.get("insightsFrom") is not None else None

    status = cluster.wait_for(at_first_milestone, timeout=60, interval=0.1)
    # Trials end in pairs: the first pass past the milestone of 5 may see 5 or 6 finished.
    seen = status["insightsFrom"]
    assert 5 <= seen < 10 and status["state"] == "Running", status
    first_found = status["insights"]
    # x alone drives accuracy; cost (from measured durations) may or may not vary.
    accuracy = {"kind": "importance", "subject": "accuracy", "objective": "accuracy"}
    assert accuracy.items() <= first_found[0].items()
    assert first_found[0]["evidence"] == {"x": 1.0}
    posted = cluster.wait_for(
        lambda: (
            (found := insight_events(cluster, "seen")) and len(found) >= len(first_found) and found
        ),
        timeout=10,
        message="one Insight event per insight",
    )
    assert f"accuracy: x 100% (fANOVA over {seen} trials)" in posted
    line = (
        'tradeoff_parameter_importance{namespace="default",objective="accuracy",'
        'parameter="x",study="seen"} 1.0'
    )
    # The gauge is set right after the Events are posted, in the same pass.
    assert cluster.wait_for(lambda: line in importance_lines(port), timeout=10)

    # Killed mid-study; the next operator computes the final insights and posts nothing
    # it finds in the status already.
    first.kill()
    port = free_port()
    operator("--metrics-port", str(port))
    wait_study(cluster, "seen", timeout=60)

    def final_insights() -> dict[str, Any] | None:  # a child computes them: a pass later
        found = cluster.get("studies", "seen", group=GROUP) or {}
        return found if (found.get("status") or {}).get("insightsFrom") == 10 else None

    done = cluster.wait_for(final_insights, timeout=30, message="the final insights")
    assert done["status"]["state"] == "Succeeded"
    final = done["status"]["insights"]
    assert final[0]["message"] == "accuracy: x 100% (fANOVA over 10 trials)"
    assert cluster.wait_for(lambda: line in importance_lines(port), timeout=10)
    settle(2)  # a few passes of the new operator
    after = insight_events(cluster, "seen")
    assert [m for m in after if m.startswith("accuracy:")] == [posted[0]]
    assert set(posted) <= set(after)
    keys = [(i["kind"], i["subject"], i.get("objective")) for i in final]
    assert len(after) <= len(
        {*keys, *((i["kind"], i["subject"], i.get("objective")) for i in first_found)}
    )

    # Deleting the Study removes its series (the gauge's and every other one).
    assert cluster.kubectl("delete", "study", "seen", "--wait=false").returncode == 0

    def series_gone() -> bool:
        return 'study="seen"' not in fetch(f"http://127.0.0.1:{port}/metrics")[1]

    assert cluster.wait_for(series_gone, timeout=30, message="the Study's series are gone")

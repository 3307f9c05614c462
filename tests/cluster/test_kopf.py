"""kopf 1.45 runs against the emulator: discovery, list, watch, patch, status and events."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster

OPERATOR = Path(__file__).with_name("kopf_widget_operator.py")


@pytest.fixture
def kopf_operator(widgets: Cluster) -> Iterator[Path]:
    log = widgets.workdir / "kopf.log"
    command = [
        sys.executable,
        "-m",
        "kopf",
        "run",
        "--standalone",
        "--namespace",
        "default",
        "--verbose",
        str(OPERATOR),
    ]
    with log.open("w") as sink:
        process = subprocess.Popen(
            command, env=widgets.env(), stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        yield log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def widget_status(cluster: Cluster, name: str) -> dict[str, str]:
    found = cluster.get("widgets", name, group="example.dev") or {}
    status: dict[str, str] = found.get("status") or {}
    return status


def test_kopf_reacts_to_created_and_changed_widgets(widgets: Cluster, kopf_operator: Path) -> None:
    widgets.apply(
        {
            "apiVersion": "example.dev/v1",
            "kind": "Widget",
            "metadata": {"name": "w1"},
            "spec": {"size": 2},
        }
    )
    try:
        widgets.wait_for(lambda: widget_status(widgets, "w1").get("state") == "Ready", 20)
    except TimeoutError:
        pytest.fail("kopf did not mark the widget Ready:\n" + kopf_operator.read_text()[-3000:])
    assert widget_status(widgets, "w1")["message"] == "size 2"
    events = widgets.wait_for(lambda: widgets.list("events"), 10)
    assert events[0]["reason"] == "Ready" and events[0]["involvedObject"]["name"] == "w1"
    widgets.kubectl(
        "patch", "widget", "w1", "--type=merge", "-p", '{"spec": {"size": 5}}', check=True
    )
    widgets.wait_for(lambda: widget_status(widgets, "w1").get("message") == "resized to 5", 20)
    finalizers = widgets.get("widgets", "w1", group="example.dev")["metadata"]["finalizers"]  # type: ignore[index]
    assert finalizers == ["kopf.zalando.org/KopfFinalizerMarker"]
    assert (
        "deleted" in widgets.kubectl("delete", "widget", "w1", "--timeout=20s", check=True).stdout
    )
    assert widgets.get("widgets", "w1", group="example.dev") is None
    assert "Deleted" in [event["reason"] for event in widgets.list("events")]
    counts = widgets.request_counts()
    assert counts[("list", "namespaces")] >= 1 and counts[("watch", "widgets.example.dev")] >= 1
    assert counts[("patch", "widgets.example.dev/status")] >= 2

"""The quickstart in the cluster: real operator, real kubectl, sklearn trials as pods."""

from __future__ import annotations

import json
import re
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.cluster.harness import Cluster
from tests.e2e.helpers import (
    GROUP,
    REPO,
    Operator,
    apply,
    condition,
    events,
    pods,
    state,
    study_manifest,
    trials,
    wait_study,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def quickstart(max_trials: int = 6) -> dict[str, object]:
    """examples/quickstart.yaml, made small: iris instead of the generated data, 6 trials."""
    manifest = yaml.safe_load((REPO / "examples" / "quickstart.yaml").read_text())
    manifest["spec"]["budget"].update(maxTrials=max_trials, parallelism=2)
    container = manifest["spec"]["trialTemplate"]["pod"]["containers"][0]
    container["args"] = [
        "--dataset=iris" if a.startswith("--dataset") else a for a in container["args"]
    ]
    container["resources"]["requests"] = {"cpu": "500m", "memory": "256Mi"}
    return manifest  # type: ignore[no-any-return]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_quickstart_runs_to_a_pareto_front(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    economics = tmp_path / "economics.json"
    economics.write_text(
        json.dumps({"regions": {"eu-north-1": 123.0}, "pricing": {"cpuHour": 0.5}})
    )
    health, metrics = free_port(), free_port()
    running = operator(
        "--health-port",
        str(health),
        "--metrics-port",
        str(metrics),
        "--economics-config",
        str(economics),
    )
    result = apply(cluster, quickstart())
    assert result.returncode == 0, result.stderr
    assert "study.tradeoff.dev/quickstart created" in result.stdout

    done = wait_study(cluster, "quickstart", timeout=90)
    status = done["status"]
    assert status["state"] == "Succeeded", status
    assert status["progress"] == "6/6"
    assert status["trials"] == {
        "created": 6,
        "pending": 0,
        "running": 0,
        "succeeded": 6,
        "failed": 0,
        "pruned": 0,
        "cancelled": 0,
    }
    assert status["paretoFront"], "a Pareto front"
    names = {t["metadata"]["name"] for t in trials(cluster, "quickstart")}
    assert names == {f"quickstart-{i:04d}" for i in range(6)}
    assert {p["trial"] for p in status["paretoFront"]} <= names
    assert status["recommended"]["trial"] in names
    assert status["recommendedSummary"].startswith(status["recommended"]["trial"] + " accuracy=")
    assert 0 <= status["hypervolume"] <= 1
    assert status["totals"]["costUSD"] > 0 and status["totals"]["carbonGrams"] > 0
    assert status["startTime"] and status["completionTime"]
    assert status["algorithm"]["name"] == "tpe"  # auto, recorded when the study started
    assert status["algorithm"]["reason"] == "auto: categorical or conditional parameters"
    assert status["algorithm"]["resolvedAt"] == status["startTime"]  # chosen as it started
    generation = done["metadata"]["generation"]
    for kind, value in (("Valid", "True"), ("Running", "False"), ("Succeeded", "True")):
        found = condition(done, kind)
        assert found is not None and found["status"] == value, (kind, status["conditions"])
        assert found["observedGeneration"] == generation and found["lastTransitionTime"]
    assert condition(done, "Succeeded")["reason"] == "MaxTrialsReached"  # type: ignore[index]

    # Every trial: Succeeded, priced with the operator's region table and prices.
    for trial in trials(cluster, "quickstart"):
        t = trial["status"]
        assert t["state"] == "Succeeded", t
        assert t["attempts"] == 1 and t["podName"] == trial["metadata"]["name"] + "-a1"
        assert len(t["values"]) == 3 and t["feasible"] is True
        assert 0 < t["metrics"]["accuracy"] <= 1
        econ = t["economics"]
        assert econ["gramsPerKWh"] == 123.0 and econ["region"] == "eu-north-1"
        assert econ["vcpu"] == 0.5 and econ["durationSeconds"] > 0
        hours = econ["durationSeconds"] / 3600
        assert econ["costUSD"] == pytest.approx(hours * (0.5 * 0.5 + 0.25 * 0.004237))
        assert t["values"][1] == econ["costUSD"] and t["values"][2] == econ["carbonGrams"]
        owner = trial["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"]) == ("Study", "quickstart")

    # Pods: one per trial, owned by it, labelled, restricted, never through a shell.
    listed = pods(cluster, "quickstart")
    assert [p["metadata"]["name"] for p in listed] == sorted(f"{n}-a1" for n in names)
    for pod in listed:
        spec, meta = pod["spec"], pod["metadata"]
        assert meta["labels"]["tradeoff.dev/study"] == "quickstart"
        assert meta["labels"]["tradeoff.dev/trial"] + "-a1" == meta["name"]
        assert meta["ownerReferences"][0]["kind"] == "Trial"
        assert spec["restartPolicy"] == "Never" and spec["activeDeadlineSeconds"] == 120
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        container = spec["containers"][0]
        assert container["command"] == ["python", "-m", "trial_runner.sklearn"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert container["terminationMessagePolicy"] == "FallbackToLogsOnError"

    # Events follow the status write they describe.
    cluster.wait_for(
        lambda: (
            {"StudyStarted", "StudySucceeded"}
            <= {e["reason"] for e in events(cluster, "quickstart")}
        ),
        timeout=10,
        message="StudyStarted and StudySucceeded events",
    )

    # What users see with kubectl: the printer columns.
    table = cluster.kubectl("get", "studies", check=True).stdout
    assert table.split()[:5] == ["NAME", "STATE", "PROGRESS", "RECOMMENDED", "AGE"]
    assert "quickstart   Succeeded   6/6" in table
    wide = cluster.kubectl("get", "studies", "-o", "wide", check=True).stdout
    assert "SPENT" in wide and "HYPERVOLUME" in wide and " gCO2e" in wide
    assert wide.split()[6] == "ALGORITHM" and " tpe " in wide and "ALGORITHM" not in table
    listing = cluster.kubectl("get", "trials", check=True).stdout
    header = listing.splitlines()[0].split()
    assert header == ["NAME", "STUDY", "STATE", "VALUES", "REASON", "AGE"]
    assert listing.count(" Succeeded ") == 6
    assert re.search(r"quickstart-0000 +quickstart +Succeeded +accuracy=[0-9.]+ cost=", listing)
    selector = "involvedObject.name=quickstart"
    seen = cluster.kubectl("get", "events", "--field-selector", selector, check=True).stdout
    assert "StudySucceeded" in seen and "study/quickstart" in seen
    (tmp_path / "kubectl-get.txt").write_text(  # docs/operator.md, "What you see"
        f"$ kubectl get studies\n{table}\n$ kubectl get studies -o wide\n{wide}\n"
        f"$ kubectl get trials\n{listing}\n"
        f"$ kubectl get events --field-selector {selector}\n{seen}"
    )

    # Health and metrics endpoints.
    assert fetch(f"http://127.0.0.1:{health}/healthz")[0] == 200
    assert fetch(f"http://127.0.0.1:{health}/readyz")[0] == 200
    code, text = fetch(f"http://127.0.0.1:{metrics}/metrics")
    assert code == 200
    assert 'tradeoff_trials{namespace="default",state="Succeeded",study="quickstart"} 6.0' in text
    assert running.stop() == 0  # SIGTERM: a clean shutdown


def test_study_deletion_removes_trials_and_pods(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    manifest = quickstart(max_trials=2)
    manifest["metadata"]["name"] = "doomed"  # type: ignore[index]
    apply(cluster, manifest)
    wait_study(cluster, "doomed", timeout=60)
    assert len(trials(cluster, "doomed")) == 2 and len(pods(cluster, "doomed")) == 2
    result = cluster.kubectl("delete", "study", "doomed", "--wait=false")
    assert result.returncode == 0, result.stderr
    cluster.wait_for(
        lambda: (
            cluster.get("studies", "doomed", group=GROUP) is None
            and not trials(cluster, "doomed")
            and not pods(cluster, "doomed")
        ),
        timeout=30,
        message="the study, its trials and pods are deleted",
    )


GOAL_TRIAL = (
    "import json, os, sys, time\n"
    "time.sleep(0.3 if sys.argv[1] == '0' else 20)\n"
    "print('TRADEOFF_METRICS ' + json.dumps({'accuracy': 0.9}))\n"
)


def test_reaching_the_goal_stops_the_running_trials(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    manifest = study_manifest(
        "goal",
        code=GOAL_TRIAL,
        args=["${trial.number}"],
        goal={"accuracy": 0.8},
        budget={"maxTrials": 6, "parallelism": 2},
    )
    apply(cluster, manifest)
    done = wait_study(cluster, "goal", timeout=30)
    assert done["status"]["state"] == "Succeeded"
    reached = condition(done, "GoalReached")
    assert reached is not None and reached["message"] == "trial goal-0000 met the goal"
    first, second = trials(cluster, "goal")[:2]
    assert state(first) == "Succeeded"
    cluster.wait_for(
        lambda: trials(cluster, "goal")[1]["status"].get("reason") == "Cancelled", timeout=10
    )
    second = trials(cluster, "goal")[1]
    assert state(second) == "Pending"  # as in local mode: not failed, runs if it resumes
    assert second["status"]["message"] == "cancelled: trial goal-0000 met the goal"
    assert len(trials(cluster, "goal")) == 2  # nothing new starts after the goal
    wait_pod_stopped(cluster, second["status"]["podName"])


def wait_pod_stopped(cluster: Cluster, pod_name: str) -> None:
    """Wait until a stopped trial's pod is deleted (or has failed)."""
    cluster.wait_for(
        lambda: (
            (cluster.get("pods", pod_name) or {"status": {"phase": "Failed"}})["status"]["phase"]
            == "Failed"
        ),
        timeout=10,
        message=f"the stopped trial's pod {pod_name} is deleted",
    )


def test_a_failed_study_cancels_its_running_trials(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    """Trial 0 fails at once; with maxFailedTrials 1 the study fails, and trial 1, still
    running, is cancelled (not failed) and its pod deleted, as a goal or timeout stops it."""
    operator()
    code = "import sys, time\nsys.exit(3) if sys.argv[1] == '0' else time.sleep(30)\n"
    manifest = study_manifest(
        "doomed",
        code=code,
        args=["${trial.number}"],
        budget={"maxTrials": 4, "parallelism": 2, "maxFailedTrials": 1},
    )
    apply(cluster, manifest)
    done = wait_study(cluster, "doomed", timeout=30)
    assert done["status"]["state"] == "Failed", done["status"]
    cluster.wait_for(
        lambda: trials(cluster, "doomed")[1]["status"].get("reason") == "Cancelled", timeout=10
    )
    first, second = trials(cluster, "doomed")
    assert state(first) == "Failed"
    assert state(second) == "Pending" and second["status"]["message"].startswith("cancelled: ")
    wait_pod_stopped(cluster, second["status"]["podName"])
    assert len(trials(cluster, "doomed")) == 2  # nothing new starts after the failure


def test_a_timeout_cancels_trials_that_run_again_when_the_study_resumes(
    cluster: Cluster, operator: Callable[..., Operator], tmp_path: Path
) -> None:
    operator()
    code = (
        "import json, os, sys, time\n"
        "mark = os.path.join(os.environ['MARKS'], os.environ['TRADEOFF_TRIAL'])\n"
        "if sys.argv[1] != '0' and not os.path.exists(mark):\n"
        "    open(mark, 'w').close()\n"
        "    time.sleep(60)\n"
        "print('TRADEOFF_METRICS ' + json.dumps({'accuracy': 0.9}))\n"
    )
    manifest = study_manifest(
        "timed",
        code=code,
        args=["${trial.number}"],
        env={"MARKS": str(tmp_path)},
        budget={"maxTrials": 2, "parallelism": 2, "timeout": "4s", "maxFailedTrials": 1},
    )
    apply(cluster, manifest)
    done = wait_study(cluster, "timed", timeout=30)
    assert done["status"]["state"] == "Succeeded"
    assert condition(done, "Succeeded")["reason"] == "Timeout"  # type: ignore[index]
    cluster.wait_for(
        lambda: trials(cluster, "timed")[1]["status"].get("reason") == "Cancelled", timeout=10
    )
    second = trials(cluster, "timed")[1]["status"]
    assert second["state"] == "Pending" and second["failures"] == 0
    assert second["message"] == "cancelled: the study's timeout of 4s ran out"
    first_pod = second["podName"]
    cluster.wait_for(
        lambda: (
            (cluster.get("pods", first_pod) or {"status": {"phase": "Failed"}})["status"]["phase"]
            == "Failed"
        ),
        timeout=10,
        message="the cancelled trial's pod is stopped",
    )
    time.sleep(2.5)  # a few reconciles: the cancelled trial neither fails nor runs
    again = wait_study(cluster, "timed")
    assert condition(again, "Succeeded")["reason"] == "Timeout"  # type: ignore[index]
    assert again["status"]["trials"]["failed"] == 0  # maxFailedTrials is 1
    assert again["status"]["trials"]["cancelled"] == 1
    assert trials(cluster, "timed")[1]["status"] == second
    # A longer timeout resumes the study: the cancelled trial runs again, attempt 2.
    manifest["spec"]["budget"]["timeout"] = "10m"
    assert apply(cluster, manifest).returncode == 0
    cluster.wait_for(
        lambda: (
            condition(wait_study(cluster, "timed"), "Succeeded")["reason"]  # type: ignore[index]
            == "MaxTrialsReached"
        ),
        timeout=30,
        message="the resumed study completes",
    )
    resumed = wait_study(cluster, "timed")
    final = trials(cluster, "timed")[1]["status"]
    assert (final["state"], final["attempts"], final["failures"]) == ("Succeeded", 2, 0)
    assert final["podName"] == "timed-0001-a2" and final["startTime"] == second["startTime"]
    assert resumed["status"]["trials"]["created"] == 2


SUMMARY_TRIAL = (
    "import json, os\n"
    "print('accuracy=0.1')\n"
    "with open(os.environ['TRADEOFF_TERMINATION_LOG'], 'w') as f:\n"
    "    json.dump({'metrics': {'accuracy': 0.77, 'f1': 0.5}}, f)\n"
)


def test_the_termination_message_is_authoritative(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    operator()
    apply(cluster, study_manifest("summary", code=SUMMARY_TRIAL, budget={"maxTrials": 1}))
    wait_study(cluster, "summary", timeout=30)
    status = trials(cluster, "summary")[0]["status"]
    assert status["state"] == "Succeeded"
    assert status["metrics"]["accuracy"] == 0.77 and status["metrics"]["f1"] == 0.5
    assert status["values"][0] == 0.77

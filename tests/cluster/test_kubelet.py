"""The local kubelet: pods as local processes, their status, logs and termination."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.cluster.containers import INSTANT_COMMAND
from tests.cluster.harness import Cluster

METRICS = 'TRADEOFF_METRICS {"accuracy": 0.9}'


def pod(name: str, command: list[str], **spec: Any) -> dict[str, Any]:
    container = {"name": "trial", "image": "tradeoff:latest", "command": command}
    container.update(spec.pop("container", {}))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **spec.pop("metadata", {})},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def python(code: str) -> list[str]:
    return ["python", "-c", code]


def phase(cluster: Cluster, name: str) -> str:
    found = cluster.get("pods", name)
    return "" if found is None else str(found.get("status", {}).get("phase", ""))


def wait_phase(cluster: Cluster, name: str, *phases: str, timeout: float = 15) -> dict[str, Any]:
    cluster.wait_for(
        lambda: phase(cluster, name) in phases, timeout, message=f"{name} never {phases}"
    )
    found = cluster.get("pods", name)
    assert found is not None
    return found


def terminated(found: dict[str, Any]) -> dict[str, Any]:
    state: dict[str, Any] = found["status"]["containerStatuses"][0]["state"]["terminated"]
    return state


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def running_pid(cluster: Cluster, name: str) -> int:
    found = wait_phase(cluster, name, "Running")
    return int(found["status"]["containerStatuses"][0]["containerID"].removeprefix("local://"))


def test_pod_runs_to_succeeded_with_its_log(cluster: Cluster) -> None:
    code = f"import trial_runner, os; print({METRICS!r}); print(os.environ['STUDY'])"
    cluster.apply(
        pod("ok", python(code), container={"env": [{"name": "STUDY", "value": "digits"}]})
    )
    done = wait_phase(cluster, "ok", "Succeeded")
    assert done["spec"]["nodeName"] == "local-node"
    assert done["status"]["startTime"]
    state = terminated(done)
    assert state["exitCode"] == 0 and state["reason"] == "Completed"
    reasons = [e["reason"] for e in cluster.list("events") if e["involvedObject"]["name"] == "ok"]
    assert reasons == ["Scheduled", "Started"]
    assert state["startedAt"] <= state["finishedAt"]
    log = pod_log(client.CoreV1Api(cluster.client()), "ok")
    assert log == f"{METRICS}\ndigits\n"


def pod_log(core: client.CoreV1Api, name: str, **options: Any) -> str:
    """A pod's log as text, read as the operator reads it (unparsed): some releases of the
    client turn a preloaded log into the repr of its bytes."""
    response = core.read_namespaced_pod_log(name, "default", _preload_content=False, **options)
    return bytes(response.data).decode()


def secret_env(name: str, key: str, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": name, "key": key, **({"optional": True} if optional else {})}
    return {"name": key.upper(), "valueFrom": {"secretKeyRef": ref}}


def test_secret_key_refs_are_read_from_the_stores_secrets(cluster: Cluster) -> None:
    cluster.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds"},
            "data": {"token": "czNjcjN0"},  # base64 of s3cr3t
        }
    )
    env = [secret_env("creds", "token"), secret_env("creds", "absent", optional=True)]
    code = "import os; print(os.environ['TOKEN'], 'ABSENT' in os.environ)"
    cluster.apply(pod("reads", python(code), container={"env": env}))
    wait_phase(cluster, "reads", "Succeeded")
    log = pod_log(client.CoreV1Api(cluster.client()), "reads")
    assert log == "s3cr3t False\n"


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (("nowhere", "token"), 'secret "nowhere" not found'),
        (("creds", "other"), "couldn't find key other in Secret default/creds"),
    ],
)
def test_a_missing_secret_or_key_leaves_the_pod_pending_with_a_config_error(
    cluster: Cluster, ref: tuple[str, str], message: str
) -> None:
    cluster.apply(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"}, "data": {"token": ""}}
    )
    cluster.apply(pod("blocked", python("print(1)"), container={"env": [secret_env(*ref)]}))

    def waiting() -> dict[str, Any]:
        found = cluster.get("pods", "blocked") or {}
        statuses = found.get("status", {}).get("containerStatuses") or [{}]
        return dict(statuses[0].get("state", {}).get("waiting") or {})

    cluster.wait_for(lambda: "message" in waiting(), 15, message="no config error")
    assert waiting() == {"reason": "CreateContainerConfigError", "message": message}
    assert phase(cluster, "blocked") == "Pending"
    events = [e for e in cluster.list("events") if e["involvedObject"]["name"] == "blocked"]
    assert ("Failed", f"Error: {message}") in [(e["reason"], e["message"]) for e in events]


def test_failing_pod_reports_exit_code_and_log_fallback(cluster: Cluster) -> None:
    code = "import sys; print('bad input', file=sys.stderr); sys.exit(3)"
    cluster.apply(
        pod("bad", python(code), container={"terminationMessagePolicy": "FallbackToLogsOnError"})
    )
    state = terminated(wait_phase(cluster, "bad", "Failed"))
    assert state["exitCode"] == 3 and state["reason"] == "Error"
    assert state["message"] == "bad input\n"


def test_termination_message_file(cluster: Cluster) -> None:
    code = (
        "import os, pathlib; pathlib.Path(os.environ['SUMMARY']).write_text('{\"accuracy\": 0.5}')"
    )
    env = [{"name": "SUMMARY", "value": "/dev/termination-log"}]
    cluster.apply(pod("summary", python(code), container={"env": env}))
    assert terminated(wait_phase(cluster, "summary", "Succeeded"))["message"] == '{"accuracy": 0.5}'


def test_active_deadline_kills_the_process(cluster: Cluster) -> None:
    cluster.apply(pod("slow", python("import time; time.sleep(60)"), activeDeadlineSeconds=1))
    pid = running_pid(cluster, "slow")
    failed = wait_phase(cluster, "slow", "Failed", timeout=10)
    assert failed["status"]["reason"] == "DeadlineExceeded"
    assert terminated(failed)["exitCode"] in (137, 143)
    assert not pid_alive(pid)


def test_deleting_a_running_pod_kills_its_process(cluster: Cluster) -> None:
    cluster.apply(pod("victim", python("import time; print('up', flush=True); time.sleep(60)")))
    pid = running_pid(cluster, "victim")
    client.CoreV1Api(cluster.client()).delete_namespaced_pod(
        "victim", "default", grace_period_seconds=5
    )
    cluster.wait_for(lambda: cluster.get("pods", "victim") is None, 10)
    assert not pid_alive(pid)


def test_evict_and_lose_node(cluster: Cluster) -> None:
    assert cluster.kubelet is not None
    for name in ("a", "b"):
        cluster.apply(pod(name, python("import time; time.sleep(60)")))
    pid_a, pid_b = running_pid(cluster, "a"), running_pid(cluster, "b")
    cluster.kubelet.evict("default", "a")
    evicted = wait_phase(cluster, "a", "Failed")
    assert evicted["status"]["reason"] == "Evicted" and not pid_alive(pid_a)
    cluster.kubelet.lose_node()
    lost = wait_phase(cluster, "b", "Failed")
    assert lost["status"]["reason"] == "NodeLost" and not pid_alive(pid_b)
    node = cluster.get("nodes", "local-node")
    assert node is not None and node["status"]["conditions"][0]["status"] == "Unknown"
    cluster.apply(pod("later", python("print(1)")))
    assert phase(cluster, "later") == "Pending"
    cluster.kubelet.restore_node()
    wait_phase(cluster, "later", "Succeeded")


def test_owner_deletion_collects_the_pod_and_kills_it(widgets: Cluster) -> None:
    owner = widgets.apply(
        {
            "apiVersion": "example.dev/v1",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"size": 1},
        }
    )
    ref = {
        "apiVersion": "example.dev/v1",
        "kind": "Widget",
        "name": "w",
        "uid": owner["metadata"]["uid"],
    }
    widgets.apply(
        pod("child", python("import time; time.sleep(60)"), metadata={"ownerReferences": [ref]})
    )
    pid = running_pid(widgets, "child")
    widgets.api.delete(widgets.resource("widgets", "example.dev"), "default", "w")
    widgets.wait_for(lambda: widgets.get("pods", "child") is None, 10)
    assert not pid_alive(pid)


def test_instant_pods_and_unschedulable_pods(cluster: Cluster) -> None:
    cluster.apply(pod("instant", [INSTANT_COMMAND, METRICS, "done"]))
    assert (
        cluster.pod_log(wait_phase(cluster, "instant", "Succeeded")["metadata"]["name"])
        == f"{METRICS}\ndone\n"
    )
    failing = pod(
        "instant-fail",
        [INSTANT_COMMAND],
        container={"env": [{"name": "TRADEOFF_INSTANT_EXIT_CODE", "value": "2"}]},
    )
    cluster.apply(failing)
    assert terminated(wait_phase(cluster, "instant-fail", "Failed"))["exitCode"] == 2
    cluster.apply(
        pod("picky", python("print(1)"), nodeSelector={"node.kubernetes.io/instance-type": "p4d"})
    )
    cluster.wait_for(
        lambda: (cluster.get("pods", "picky") or {}).get("status", {}).get("conditions")
    )
    picky = cluster.get("pods", "picky")
    assert picky is not None and picky["status"]["conditions"][0]["reason"] == "Unschedulable"
    version = picky["metadata"]["resourceVersion"]
    time.sleep(0.3)
    assert cluster.get("pods", "picky")["metadata"]["resourceVersion"] == version  # type: ignore[index]
    reasons = [
        e["reason"] for e in cluster.list("events") if e["involvedObject"]["name"] == "picky"
    ]
    assert reasons == ["FailedScheduling"]


def test_max_concurrent_processes() -> None:
    with Cluster(max_concurrent=1) as cluster:
        cluster.apply(pod("first", python("import time; time.sleep(0.5)")))
        cluster.apply(pod("second", python("print('second')")))
        wait_phase(cluster, "first", "Running")
        assert phase(cluster, "second") == "Pending"
        first = wait_phase(cluster, "first", "Succeeded")
        second = wait_phase(cluster, "second", "Succeeded")
        assert terminated(second)["startedAt"] >= terminated(first)["finishedAt"]


def test_missing_command_fails_the_pod(cluster: Cluster) -> None:
    cluster.apply(pod("nocmd", ["definitely-not-a-program-xyz"]))
    state = terminated(wait_phase(cluster, "nocmd", "Failed"))
    assert state["reason"] == "StartError" and state["exitCode"] == 128


def test_stop_leaves_no_processes() -> None:
    with Cluster() as cluster:
        cluster.apply(pod("lingering", python("import time; time.sleep(60)")))
        pid = running_pid(cluster, "lingering")
    assert not pid_alive(pid)


@pytest.mark.parametrize("params", [{"tailLines": 1}, {"limitBytes": 3}])
def test_log_endpoint_parameters(cluster: Cluster, params: dict[str, int]) -> None:
    cluster.apply(pod("lines", python("print('one'); print('two')")))
    wait_phase(cluster, "lines", "Succeeded")
    core = client.CoreV1Api(cluster.client())
    if "tailLines" in params:
        assert pod_log(core, "lines", tail_lines=1) == "two\n"
    else:
        assert pod_log(core, "lines", limit_bytes=3) == "one"


def test_follow_streams_lines_while_the_pod_runs(cluster: Cluster) -> None:
    code = "import sys, time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.4)\n"
    cluster.apply(pod("counter", python(code)))
    wait_phase(cluster, "counter", "Running")
    core = client.CoreV1Api(cluster.client())
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_pod_log("nobody", "default")
    assert missing.value.status == 404
    response = core.read_namespaced_pod_log(
        "counter", "default", follow=True, _preload_content=False
    )
    arrivals = []
    for line in response.stream(amt=1):
        arrivals.append((line, phase(cluster, "counter")))
    text = b"".join(chunk for chunk, _ in arrivals).decode()
    assert text == "0\n1\n2\n"
    assert arrivals[0][1] == "Running"  # the first bytes came while the process still ran


def test_tail_lines_count_real_lines_and_limit_bytes_cuts_the_tail(cluster: Cluster) -> None:
    # A 3 MB line written in many pieces is still one line, as the kubelet keeps it.
    code = (
        "import sys\nout = sys.stdout.buffer\nout.write(b'first\\n')\n"
        "for _ in range(48): out.write(b'x' * 65536); out.flush()\n"
        "out.write(b'\\nlast=1\\n')\n"
    )
    cluster.apply(pod("long", python(code)))
    wait_phase(cluster, "long", "Succeeded")
    core = client.CoreV1Api(cluster.client())
    assert pod_log(core, "long", tail_lines=1) == "last=1\n"
    two = core.read_namespaced_pod_log("long", "default", tail_lines=2, _preload_content=False)
    assert len(two.data) == 48 * 65536 + len("\nlast=1\n")
    # limitBytes counts from where the selected lines start: the long line's first bytes.
    cut = pod_log(core, "long", tail_lines=2, limit_bytes=10)
    assert cut == "x" * 10
    stamped = pod_log(core, "long", tail_lines=1, timestamps=True)
    assert stamped.endswith("Z last=1\n") and stamped.count("\n") == 1
    followed = core.read_namespaced_pod_log(
        "long", "default", follow=True, tail_lines=1, _preload_content=False
    )
    assert b"".join(followed.stream(65536)) == b"last=1\n"
    whole = core.read_namespaced_pod_log("long", "default", follow=True, _preload_content=False)
    assert sum(len(chunk) for chunk in whole.stream(65536)) == 48 * 65536 + len("first\n\nlast=1\n")

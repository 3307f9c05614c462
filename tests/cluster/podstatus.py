"""Pod and node status documents as a kubelet writes them."""

from __future__ import annotations

import os
from typing import Any

from .admission import now

Obj = dict[str, Any]
KUBELET_VERSION = "v1.32.0-tradeoff-local"


def condition(kind: str, status: bool | str, reason: str = "", message: str = "") -> Obj:
    value = status if isinstance(status, str) else ("True" if status else "False")
    entry: Obj = {"type": kind, "status": value, "lastProbeTime": None, "lastTransitionTime": now()}
    if reason:
        entry["reason"] = reason
    if message:
        entry["message"] = message
    return entry


def node(name: str, labels: dict[str, str]) -> Obj:
    cpus = str(os.cpu_count() or 1)
    resources = {"cpu": cpus, "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {},
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [
                condition("Ready", True, "KubeletReady", "kubelet is posting ready status")
            ],
            "addresses": [
                {"type": "InternalIP", "address": "127.0.0.1"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "kubeletVersion": KUBELET_VERSION,
                "containerRuntimeVersion": "local://processes",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "osImage": "local processes",
            },
        },
    }


def node_lost_status(node_obj: Obj) -> Obj:
    status = dict(node_obj.get("status", {}))
    status["conditions"] = [
        condition("Ready", "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    ]
    return status


def container_base(container: Obj) -> Obj:
    return {
        "name": container.get("name", ""),
        "image": container.get("image", ""),
        "imageID": "",
        "restartCount": 0,
    }


def scheduled(pod: Obj, started: str) -> Obj:
    """Bound and creating its container."""
    container = pod["spec"]["containers"][0]
    return {
        "phase": "Pending",
        "startTime": started,
        "hostIP": "127.0.0.1",
        "conditions": [
            condition("PodScheduled", True),
            condition("Initialized", True),
            condition("ContainersReady", False, "ContainersNotReady"),
            condition("Ready", False, "ContainersNotReady"),
        ],
        "containerStatuses": [
            {
                **container_base(container),
                "ready": False,
                "started": False,
                "state": {"waiting": {"reason": "ContainerCreating"}},
            }
        ],
    }


def config_error(pod: Obj, started: str, message: str) -> Obj:
    """Bound, but its container cannot be configured (a missing Secret, ...): Pending."""
    status = scheduled(pod, started)
    status["containerStatuses"][0]["state"] = {
        "waiting": {"reason": "CreateContainerConfigError", "message": message}
    }
    return status


def running(pod: Obj, started: str, pid: int | None) -> Obj:
    container = pod["spec"]["containers"][0]
    return {
        "phase": "Running",
        "podIP": "127.0.0.1",
        "podIPs": [{"ip": "127.0.0.1"}],
        "conditions": [
            condition("PodScheduled", True),
            condition("Initialized", True),
            condition("ContainersReady", True),
            condition("Ready", True),
        ],
        "containerStatuses": [
            {
                **container_base(container),
                "containerID": f"local://{pid}" if pid else "local://instant",
                "ready": True,
                "started": True,
                "state": {"running": {"startedAt": started}},
            }
        ],
    }


def terminated(
    pod: Obj,
    *,
    exit_code: int,
    started: str,
    message: str = "",
    reason: str | None = None,
    pod_reason: str = "",
    pod_message: str = "",
    container_id: str = "",
) -> Obj:
    """Ended: Succeeded on exit 0 (unless a pod-level reason says otherwise), else Failed."""
    container = pod["spec"]["containers"][0]
    failed = exit_code != 0 or bool(pod_reason)
    state: Obj = {
        "exitCode": exit_code,
        "reason": reason or ("Completed" if exit_code == 0 else "Error"),
        "startedAt": started,
        "finishedAt": now(),
    }
    if message:
        state["message"] = message
    if container_id:
        state["containerID"] = container_id
    status: Obj = {
        "phase": "Failed" if failed else "Succeeded",
        "conditions": [
            condition("PodScheduled", True),
            condition("Initialized", True),
            condition("ContainersReady", False, "PodCompleted"),
            condition("Ready", False, "PodCompleted"),
        ],
        "containerStatuses": [
            {
                **container_base(container),
                "ready": False,
                "started": False,
                "state": {"terminated": state},
            }
        ],
    }
    if pod_reason:
        status["reason"] = pod_reason
        status["message"] = pod_message
        if pod_reason in ("Evicted", "NodeLost", "DeadlineExceeded"):
            status["conditions"].append(
                condition("DisruptionTarget", True, "TerminationByKubelet", pod_message)
            )
    return status


DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
KILL_EVENTS = {
    "Deleted": ("Killing", "Normal", "Stopping container {container}"),
    "DeadlineExceeded": ("DeadlineExceeded", "Warning", DEADLINE_MESSAGE),
    "Evicted": ("Evicted", "Warning", "The node was low on resource: memory."),
}  # fmt: skip
"""Why the kubelet kills a container -> the Event it records (reason, type, message)."""


def event(pod: Obj, reason: str, message: str, kind: str, component: str, node_name: str) -> Obj:
    """A core v1 Event about a pod, as the kubelet and the scheduler record them."""
    meta = pod["metadata"]
    stamp = now()
    return {
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": "v1", "kind": "Pod", "name": meta["name"],
            "namespace": meta["namespace"], "uid": meta.get("uid", ""),
        },
        "reason": reason, "message": message, "type": kind, "count": 1,
        "firstTimestamp": stamp, "lastTimestamp": stamp,
        "source": {"component": component, "host": node_name},
        "reportingComponent": component, "reportingInstance": node_name,
    }  # fmt: skip


def node_lost(pod: Obj, node_name: str) -> Obj:
    """The status of a pod whose node stopped answering: Failed, reason NodeLost."""
    message = f"Node {node_name} which was running pod {pod['metadata']['name']} is unresponsive"
    status = dict(pod.get("status", {}))
    status.update(phase="Failed", reason="NodeLost", message=message)
    status["conditions"] = [
        condition("Ready", False, "NodeLost", message),
        condition("DisruptionTarget", True, "DeletionByTaintManager", message),
    ]
    return status

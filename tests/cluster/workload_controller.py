"""Test doubles of the controllers behind the workload kinds a trial may be, and of Kueue.

`FakeWorkloadController` is a TEST DOUBLE, not the real Job, JobSet or Kubeflow training
controllers: it polls the store, makes each workload's pods (owned by the workload, labelled
as the real controllers label them, a TrainJob's `podTemplateOverrides` of its `node` job
applied; the LocalKubelet runs them as processes) and, once they end, sets the status the
real controllers set: Job `Complete`/`Failed`, JobSet
`Completed`/`Failed`, PyTorchJob and TrainJob `Succeeded`/`Complete`/`Failed`, and
`status.phase` of the made-up generic kind TrainingRun (example.dev/v1). Every pod must
succeed for success; one failed pod fails the workload (no backoff, no restarts).

`FakeKueue` is a TEST DOUBLE of Kueue's admission: a workload labelled
`kueue.x-k8s.io/queue-name` stays suspended until its queue's quota is `release`d.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from .errors import ApiError
from .patch import MERGE
from .store import Obj, Store

KINDS = {
    ("batch", "jobs"): ("spec", "suspend"),
    ("jobset.x-k8s.io", "jobsets"): ("spec", "suspend"),
    ("kubeflow.org", "pytorchjobs"): ("spec", "runPolicy", "suspend"),
    ("trainer.kubeflow.org", "trainjobs"): ("spec", "suspend"),
    ("example.dev", "trainingruns"): (),
}
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
_SUCCESS = {
    "Job": "Complete",
    "JobSet": "Completed",
    "PyTorchJob": "Succeeded",
    "TrainJob": "Complete",
}
RUNTIME_SECURITY = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
"""What the (admin's) training runtime of a TrainJob sets on its pods."""


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _pods_of(obj: Obj) -> list[tuple[str, dict[str, str], Obj]]:
    """(name, labels, PodSpec) of every pod the workload makes."""
    kind, name, spec = obj["kind"], obj["metadata"]["name"], obj.get("spec") or {}
    out: list[tuple[str, dict[str, str], Obj]] = []

    def add(pod: str, template: Obj, labels: dict[str, str]) -> None:
        own = dict((template.get("metadata") or {}).get("labels") or {})
        out.append((pod, {**own, **labels}, dict(template.get("spec") or {})))

    if kind == "Job":
        for i in range(int(spec.get("parallelism") or 1)):
            labels = {"job-name": name, "batch.kubernetes.io/job-completion-index": str(i)}
            add(f"{name}-{i}", spec.get("template") or {}, labels)
    elif kind == "JobSet":
        for job in spec.get("replicatedJobs") or []:
            for j in range(int(job.get("replicas") or 1)):
                labels = {
                    "jobset.sigs.k8s.io/jobset-name": name,
                    "jobset.sigs.k8s.io/replicatedjob-name": job["name"],
                    "jobset.sigs.k8s.io/job-index": str(j),
                    "batch.kubernetes.io/job-completion-index": "0",
                }
                template = (job.get("template") or {}).get("spec", {}).get("template") or {}
                add(f"{name}-{job['name']}-{j}-0", template, labels)
    elif kind == "PyTorchJob":
        for replica, rs in (spec.get("pytorchReplicaSpecs") or {}).items():
            for i in range(int(rs.get("replicas") or 1)):
                labels = {
                    "training.kubeflow.org/job-name": name,
                    "training.kubeflow.org/replica-type": replica.lower(),
                    "training.kubeflow.org/replica-index": str(i),
                }
                add(f"{name}-{replica.lower()}-{i}", rs.get("template") or {}, labels)
    elif kind == "TrainJob":
        trainer = spec.get("trainer") or {}
        container = {k: trainer[k] for k in ("image", "command", "args", "env") if k in trainer}
        container["name"] = "node"
        if "resourcesPerNode" in trainer:
            container["resources"] = trainer["resourcesPerNode"]
        pod_spec = {"containers": [container], "securityContext": dict(RUNTIME_SECURITY)}
        _override(pod_spec, spec.get("podTemplateOverrides") or [], "node")
        for i in range(int(trainer.get("numNodes") or 1)):
            labels = {
                "jobset.sigs.k8s.io/jobset-name": name,
                "jobset.sigs.k8s.io/replicatedjob-name": "node",
                "batch.kubernetes.io/job-completion-index": str(i),
            }
            add(f"{name}-node-0-{i}", {"spec": pod_spec}, labels)
    elif kind == "TrainingRun":
        add(f"{name}-run", spec.get("template") or {}, {"example.dev/run": name})
    return out


def _override(pod_spec: Obj, overrides: list[Obj], job: str) -> None:
    """Apply a TrainJob's `podTemplateOverrides` aimed at the runtime's job `job` (as the
    Trainer does, for the fields Tradeoff sets): volumes, and containers' (by name)
    volumeMounts and env."""
    for override in overrides:
        if job not in [t.get("name") for t in override.get("targetJobs") or []]:
            continue
        spec = override.get("spec") or {}
        pod_spec["volumes"] = [*(pod_spec.get("volumes") or []), *(spec.get("volumes") or [])]
        for change in spec.get("containers") or []:
            for container in pod_spec["containers"]:
                if container["name"] == change.get("name"):
                    for field in ("volumeMounts", "env"):
                        container[field] = [
                            *(container.get(field) or []),
                            *(change.get(field) or []),
                        ]


class _Poller:
    def __init__(self, store: Store, interval: float) -> None:
        self.store, self.interval = store, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> _Poller:
        self._thread = threading.Thread(target=self._loop, name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            for (group, plural), suspend in KINDS.items():
                rt = next(
                    (t for t in self.store.types() if (t.group, t.plural) == (group, plural)), None
                )
                if rt is None:
                    continue
                for obj in self.store.list(rt)[0]:
                    if not obj["metadata"].get("deletionTimestamp"):
                        with contextlib.suppress(ApiError):
                            self.visit(rt, obj, suspend)

    def visit(self, rt: Any, obj: Obj, suspend: tuple[str, ...]) -> None:
        raise NotImplementedError


class FakeWorkloadController(_Poller):
    """TEST DOUBLE of the workload controllers (see the module docstring)."""

    def __init__(self, store: Store, interval: float = 0.1) -> None:
        super().__init__(store, interval)
        self._pods = store.type("", "v1", "pods")
        self.created: list[str] = []
        """Names of the pods made, in order (tests check nothing is made twice)."""

    def visit(self, rt: Any, obj: Obj, suspend: tuple[str, ...]) -> None:
        meta = obj["metadata"]
        if suspend and _get(obj, suspend) is True:
            return
        if self._ended(obj):
            return
        pods = []
        for name, labels, spec in _pods_of(obj):
            found = self.store.find(self._pods, meta["namespace"], name)
            if found is None:
                found = self._make(obj, name, labels, spec)
            pods.append(found)
        phases = [(p.get("status") or {}).get("phase") for p in pods]
        if "Failed" in phases:
            self._write(rt, obj, succeeded=False, pods=pods)
        elif pods and all(ph == "Succeeded" for ph in phases):
            self._write(rt, obj, succeeded=True, pods=pods)
        elif obj["kind"] == "TrainingRun" and (obj.get("status") or {}).get("phase") != "Running":
            self.store.patch(rt, meta["namespace"], meta["name"], MERGE,
                             {"status": {"phase": "Running"}}, subresource="status")  # fmt: skip

    def _make(self, obj: Obj, name: str, labels: dict[str, str], spec: Obj) -> Obj:
        meta = obj["metadata"]
        owner = {
            "apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
            "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True,
        }  # fmt: skip
        spec.setdefault("restartPolicy", "Never")
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": labels, "ownerReferences": [owner]},
            "spec": spec,
        }
        self.created.append(name)
        return self.store.create(self._pods, meta["namespace"], pod)

    @staticmethod
    def _ended(obj: Obj) -> bool:
        status = obj.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return True
        return any(c.get("status") == "True" and c.get("type") in (*_SUCCESS.values(), "Failed")
                   for c in status.get("conditions") or [])  # fmt: skip

    def _write(self, rt: Any, obj: Obj, *, succeeded: bool, pods: list[Obj]) -> None:
        meta = obj["metadata"]
        failed = [p["metadata"]["name"] for p in pods if p["status"].get("phase") == "Failed"]
        if obj["kind"] == "TrainingRun":
            status: Obj = {"phase": "Succeeded" if succeeded else "Failed"}
        else:
            kind = _SUCCESS[obj["kind"]] if succeeded else "Failed"
            message = "all pods succeeded" if succeeded else f"pod {failed[0]} failed"
            reason = "Completed" if succeeded else "PodFailed"
            status = {
                "conditions": [
                    {"type": kind, "status": "True", "reason": reason, "message": message}
                ],
                "succeeded": len(pods) - len(failed),
                "failed": len(failed),
            }
        self.store.patch(rt, meta["namespace"], meta["name"], MERGE, {"status": status},
                         subresource="status")  # fmt: skip


class FakeKueue(_Poller):
    """TEST DOUBLE of Kueue: queued workloads stay suspended until `release(queue)`."""

    def __init__(self, store: Store, interval: float = 0.1) -> None:
        super().__init__(store, interval)
        self.released: set[str] = set()

    def release(self, queue: str) -> None:
        """The queue's quota is free: its suspended workloads are admitted (unsuspended)."""
        self.released.add(queue)

    def visit(self, rt: Any, obj: Obj, suspend: tuple[str, ...]) -> None:
        queue = (obj["metadata"].get("labels") or {}).get(QUEUE_LABEL)
        if not suspend or queue not in self.released or _get(obj, suspend) is not True:
            return
        patch: Obj = {}
        inner = patch
        for key in suspend[:-1]:
            inner = inner.setdefault(key, {})
        inner[suspend[-1]] = False
        meta = obj["metadata"]
        self.store.patch(rt, meta["namespace"], meta["name"], MERGE, patch)

"""`LocalKubelet`: runs the emulator's pods as local processes and reports their status.

It registers a Node, watches pods through the store in process, binds each new pod to its
node, runs the first container's `command + args` (no shell; `python` is this interpreter)
in a temporary directory, streams stdout+stderr into the pod's log and writes the pod's
phase, container state, exit code and termination message. See `containers.INSTANT_COMMAND`
for pods that complete without a process. Restart policies other than Never are not applied.
Env `secretKeyRef`s are read from the store's Secrets; a missing Secret or key leaves the
pod Pending with the waiting reason CreateContainerConfigError and the kubelet's message
(unlike a real kubelet, it does not try again when the Secret appears).
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import containers, podstatus
from .admission import now
from .errors import ApiError
from .logs import ContainerLog, LogRegistry
from .patch import MERGE
from .store import Store

Obj = dict[str, Any]
CHUNK_BYTES = 64 * 1024
"""Bytes of a container's output read at a time (a long line arrives in pieces)."""
DEFAULT_LABELS = {
    "kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "topology.kubernetes.io/region": "eu-north-1",
    "topology.kubernetes.io/zone": "eu-north-1a",
    "node.kubernetes.io/instance-type": "m5.large",
}


@dataclass
class _Run:
    namespace: str
    name: str
    pod: Obj
    workdir: Path
    started: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: ContainerLog | None = None
    kill_reason: str = ""
    termination_file: Path = field(default_factory=Path)
    threads: list[threading.Thread] = field(default_factory=list)


class LocalKubelet:
    """A node whose pods are local processes. `start()`/`stop()` or a context manager."""

    def __init__(
        self,
        store: Store,
        logs: LogRegistry,
        *,
        node_name: str = "local-node",
        labels: dict[str, str] | None = None,
        max_concurrent: int = 8,
        repo_root: Path | None = None,
    ) -> None:
        self.store = store
        self.logs = logs
        self.claims: dict[str, Path] = {}
        """Test double of PersistentVolumeClaims: a claim name (in any namespace) -> the
        local directory that stands for its volume. A container's mount of such a claim
        (with its subPath) is that directory; env values and args under the mountPath are
        rewritten to it (processes cannot mount). readOnly is not enforced."""
        self.node_name = node_name
        self.labels = {"kubernetes.io/hostname": node_name, **DEFAULT_LABELS, **(labels or {})}
        self.max_concurrent = max_concurrent
        self.repo_root = repo_root
        self.node_up = True
        self._pods = store.type("", "v1", "pods")
        self._nodes = store.type("", "v1", "nodes")
        self._core_events = store.type("", "v1", "events")
        self._secrets = store.type("", "v1", "secrets")
        self._events: queue.Queue[tuple[str, Obj]] = queue.Queue()
        self._runs: dict[tuple[str, str], _Run] = {}
        self._waiting: list[_Run] = []
        self._seen: set[str] = set()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._root = Path(tempfile.mkdtemp(prefix="local-kubelet-"))
        self._worker: threading.Thread | None = None
        self._unsubscribe: Any = None

    # ----- lifecycle -------------------------------------------------------------------
    def start(self) -> LocalKubelet:
        with self.store.lock:
            if self.store.find(self._nodes, "", self.node_name) is None:
                self.store.create(self._nodes, "", podstatus.node(self.node_name, self.labels))
            self.store.graceful_pod_deletion = True
            replay, self._unsubscribe = self.store.watch(
                self._pods, None, "0", lambda kind, obj, _previous: self._events.put((kind, obj))
            )
            for kind, obj, _previous in replay:
                self._events.put((kind, obj))
        self._worker = threading.Thread(target=self._work, name="local-kubelet", daemon=True)
        self._worker.start()
        return self

    def stop(self) -> None:
        """Kill every process (SIGTERM, then SIGKILL), join all threads, remove temp files."""
        self._stopping.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.store.graceful_pod_deletion = False
        if self._worker is not None:
            self._worker.join(timeout=5)
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            self._kill(run, "Stopped", grace=1.0)
        for run in runs:
            for thread in run.threads:
                thread.join(timeout=5)
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> LocalKubelet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- test helpers ----------------------------------------------------------------
    def evict(self, namespace: str, name: str) -> None:
        """Kill a running pod as a node-pressure eviction does: phase Failed, reason Evicted."""
        with self._lock:
            run = self._runs.get((namespace, name))
        if run is None:
            raise KeyError(f"pod {namespace}/{name} is not running on {self.node_name}")
        self._kill(run, "Evicted", grace=0.0)

    def lose_node(self, delete_pods: bool = False) -> None:
        """The node disappears: processes die, the node goes NotReady, and each of its pods
        ends Failed with reason NodeLost (or is deleted when `delete_pods`)."""
        self.node_up = False
        with self._lock:
            runs = [*self._runs.values(), *self._waiting]
            self._waiting.clear()
        for run in runs:
            self._kill(run, "NodeLost", grace=0.0)
        for run in runs:
            for thread in run.threads:
                thread.join(timeout=5)
        with self.store.lock:
            for pod in list(self.store.iter_objects(self._pods, None)):
                if pod.get("spec", {}).get("nodeName") != self.node_name:
                    continue
                meta = pod["metadata"]
                if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
                    continue
                if delete_pods:
                    self.store.delete(self._pods, meta["namespace"], meta["name"], grace_seconds=0)
                else:
                    self._finish_lost(pod)
            node = self.store.find(self._nodes, "", self.node_name)
            if node is not None:
                status = {"status": podstatus.node_lost_status(node)}
                self.store.patch(
                    self._nodes, "", self.node_name, MERGE, status, subresource="status"
                )

    def restore_node(self) -> None:
        """Bring the node back: Ready again, and pending pods get scheduled."""
        self.node_up = True
        ready = podstatus.node(self.node_name, self.labels)["status"]
        self.store.patch(
            self._nodes, "", self.node_name, MERGE, {"status": ready}, subresource="status"
        )
        with self.store.lock:
            for pod in self.store.iter_objects(self._pods, None):
                self._events.put(("MODIFIED", pod))

    def running(self) -> list[str]:
        """`namespace/name` of the pods whose processes are running now."""
        with self._lock:
            return sorted(f"{ns}/{name}" for ns, name in self._runs)

    # ----- event handling --------------------------------------------------------------
    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                kind, pod = self._events.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                self._handle(kind, pod)
            except ApiError:
                continue  # the pod changed or went away meanwhile; a later event tells

    def _handle(self, kind: str, pod: Obj) -> None:
        meta = pod["metadata"]
        key = (meta["namespace"], meta["name"])
        with self._lock:
            run = self._runs.get(key) or next(
                (r for r in self._waiting if (r.namespace, r.name) == key), None
            )
        if kind == "DELETED" or meta.get("deletionTimestamp"):
            if run is not None and run.process is not None:
                grace = float(meta.get("deletionGracePeriodSeconds") or 0)
                self._kill(run, "Deleted", grace=grace)
            elif kind != "DELETED":
                with self._lock:
                    self._waiting = [r for r in self._waiting if (r.namespace, r.name) != key]
                self._remove(key)
            if kind == "DELETED":
                self.logs.drop(*key)
            return
        latest = self.store.find(self._pods, *key)
        if latest is None or latest["metadata"]["uid"] != meta["uid"]:
            return
        pod = latest
        if run is not None or meta["uid"] in self._seen or not self.node_up:
            return
        if pod.get("status", {}).get("phase") != "Pending":
            return
        if pod.get("spec", {}).get("nodeName") not in (None, "", self.node_name):
            return
        self._schedule(pod)

    def _schedule(self, pod: Obj) -> None:
        meta, spec = pod["metadata"], pod.get("spec", {})
        key = (meta["namespace"], meta["name"])
        wanted = spec.get("nodeSelector") or {}
        if any(self.labels.get(k) != v for k, v in wanted.items()):
            message = (
                "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
            )
            status = {
                "conditions": [podstatus.condition("PodScheduled", False, "Unschedulable", message)]
            }
            known = [c.get("reason") for c in pod.get("status", {}).get("conditions") or ()]
            if "Unschedulable" not in known:
                self.store.patch(
                    self._pods, *key, MERGE, {"status": status}, subresource="status", shared=True
                )
                self._event(
                    pod, "FailedScheduling", message, kind="Warning", component="default-scheduler"
                )
            return
        if not spec.get("containers"):
            return
        self._seen.add(meta["uid"])
        target = f"{key[0]}/{key[1]} to {self.node_name}"
        self._event(
            pod, "Scheduled", f"Successfully assigned {target}", component="default-scheduler"
        )
        if not spec.get("nodeName"):
            pod = self.store.patch(self._pods, *key, MERGE, {"spec": {"nodeName": self.node_name}})
        run = _Run(key[0], key[1], pod, self._root / f"{key[0]}_{key[1]}_{meta['uid'][:8]}")
        self.store.patch(
            self._pods,
            *key,
            MERGE,
            {"status": podstatus.scheduled(pod, now())},
            subresource="status",
            shared=True,
        )
        with self._lock:
            if len(self._runs) >= self.max_concurrent:
                self._waiting.append(run)
                return
            self._runs[key] = run
        self._launch(run)

    # ----- processes -------------------------------------------------------------------
    def _launch(self, run: _Run) -> None:
        container = run.pod["spec"]["containers"][0]
        run.workdir.mkdir(parents=True, exist_ok=True)
        run.termination_file = run.workdir / "termination-log"
        try:
            env = containers.environment(
                run.pod, container, run.workdir, self.repo_root, self._secret
            )
        except containers.ContainerConfigError as refused:
            run.started = now()
            self._write_status(run, podstatus.config_error(run.pod, run.started, str(refused)))
            self._event(run.pod, "Failed", f"Error: {refused}", kind="Warning")
            self._release(run)
            return
        words = containers.argv(container, env)
        env, words = containers.redirect_termination_path(
            container, env, words, run.termination_file
        )
        mounts = containers.claim_mounts(run.pod, container, self.claims)
        env, words = containers.redirect_mounts(env, words, mounts)
        run.log = self.logs.open(run.namespace, run.name, container.get("name", ""))
        run.started = now()
        if words and words[0] == containers.INSTANT_COMMAND:
            self._instant(run, words[1:], int(env.get("TRADEOFF_INSTANT_EXIT_CODE", "0")))
            return
        try:
            if not words:
                raise OSError(
                    "the local kubelet needs the container's command (images are not run)"
                )
            run.process = subprocess.Popen(
                words, cwd=run.workdir, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        except OSError as exc:
            message = f"failed to start container process: exec: {words[:1]}: {exc}"
            run.log.close()
            status = podstatus.terminated(
                run.pod, exit_code=128, started=run.started, message=message, reason="StartError"
            )
            self._write_status(run, status)
            self._release(run)
            return
        self._write_status(run, podstatus.running(run.pod, run.started, run.process.pid))
        self._event(run.pod, "Started", f"Started container {container.get('name', '')}")
        assert run.process.stdout is not None
        reader = threading.Thread(target=self._follow, args=(run, run.process.stdout), daemon=True)
        run.threads.append(reader)
        reader.start()
        deadline = run.pod["spec"].get("activeDeadlineSeconds")
        if deadline is not None:
            timer = threading.Timer(float(deadline), self._kill, (run, "DeadlineExceeded", 1.0))
            timer.daemon = True
            run.threads.append(timer)
            timer.start()

    def _secret(self, namespace: str, name: str) -> Obj | None:
        return self.store.find(self._secrets, namespace, name)

    def _instant(self, run: _Run, lines: list[str], exit_code: int) -> None:
        assert run.log is not None
        self._write_status(run, podstatus.running(run.pod, run.started, None))
        run.log.write("".join(line + "\n" for line in lines).encode())
        run.log.close()
        self._write_status(
            run, podstatus.terminated(run.pod, exit_code=exit_code, started=run.started)
        )
        self._release(run)

    def _follow(self, run: _Run, stream: IO[bytes]) -> None:
        assert run.process is not None and run.log is not None
        for chunk in iter(lambda: os.read(stream.fileno(), CHUNK_BYTES), b""):
            run.log.write(chunk)
        stream.close()
        code = run.process.wait()
        run.log.close()
        for thread in run.threads:
            if isinstance(thread, threading.Timer):
                thread.cancel()
        self._finish(run, code if code >= 0 else 128 - code)

    def _kill(self, run: _Run, reason: str, grace: float) -> None:
        """SIGTERM the process group, SIGKILL after `grace` seconds (in the background)."""
        if run.kill_reason:
            return
        run.kill_reason = reason
        if reason in podstatus.KILL_EVENTS:
            name = run.pod["spec"]["containers"][0].get("name", "")
            event_reason, kind, message = podstatus.KILL_EVENTS[reason]
            self._event(run.pod, event_reason, message.format(container=name), kind=kind)
        process = run.process
        if process is None:
            if reason == "NodeLost" and run.log is not None:
                run.log.close()
            return
        killer = containers.kill_group(process, grace)
        if killer is not None:
            run.threads.append(killer)

    def _finish(self, run: _Run, exit_code: int) -> None:
        container = run.pod["spec"]["containers"][0]
        assert run.log is not None
        message = containers.termination_message(
            container, run.termination_file, run.log.tail_text(80, 2048), failed=exit_code != 0
        )
        reasons = {
            "DeadlineExceeded": "Pod was active on the node longer than the specified deadline",
            "Evicted": "The node was low on resource: memory. Threshold quantity: 100Mi.",
        }
        pod_reason = run.kill_reason if run.kill_reason in reasons else ""
        status = podstatus.terminated(
            run.pod, exit_code=exit_code, started=run.started, message=message,
            pod_reason=pod_reason, pod_message=reasons.get(pod_reason, ""),
            container_id=f"local://{run.process.pid}" if run.process else "",
        )  # fmt: skip
        if run.kill_reason not in ("NodeLost", "Stopped"):
            self._write_status(run, status)
        if run.kill_reason == "Deleted":
            self._remove((run.namespace, run.name))
        self._release(run)

    def _finish_lost(self, pod: Obj) -> None:
        meta = pod["metadata"]
        status = podstatus.node_lost(pod, self.node_name)
        self.store.patch(
            self._pods,
            meta["namespace"],
            meta["name"],
            MERGE,
            {"status": status},
            subresource="status",
        )

    def _event(
        self,
        pod: Obj,
        reason: str,
        message: str,
        *,
        kind: str = "Normal",
        component: str = "kubelet",
    ) -> None:
        """Record a core v1 Event about a pod, as the kubelet and the scheduler do."""
        event = podstatus.event(pod, reason, message, kind, component, self.node_name)
        with contextlib.suppress(ApiError):
            self.store.create(self._core_events, pod["metadata"]["namespace"], event, shared=True)

    def _write_status(self, run: _Run, status: Obj) -> None:
        with contextlib.suppress(ApiError):
            self.store.patch(
                self._pods, run.namespace, run.name, MERGE, {"status": status},
                subresource="status", shared=True,
            )  # fmt: skip

    def _remove(self, key: tuple[str, str]) -> None:
        with contextlib.suppress(ApiError):
            self.store.delete(self._pods, *key, grace_seconds=0)

    def _release(self, run: _Run) -> None:
        """Forget a finished run, clean its directory, start a waiting pod if any."""
        with self._lock:
            self._runs.pop((run.namespace, run.name), None)
            following = None
            if self._waiting and not self._stopping.is_set() and self.node_up:
                following = self._waiting.pop(0)
                self._runs[(following.namespace, following.name)] = following
        shutil.rmtree(run.workdir, ignore_errors=True)
        if following is not None:
            self._launch(following)

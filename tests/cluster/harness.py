"""`Cluster`: the API emulator + the local kubelet + CRDs + a kubeconfig, for tests.

with Cluster() as cluster:
    cluster.kubectl("apply", "-f", "examples/study.yaml", check=True)
    cluster.wait_for(lambda: cluster.get("studies", "demo", group="tradeoff.dev"))
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from .emulator import Emulator
from .kubelet import LocalKubelet
from .resources import ResourceType
from .selectors import label_matcher
from .store import Obj, Store
from .workload_controller import FakeKueue, FakeWorkloadController

T = TypeVar("T")
ObjList = list[Obj]
REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
PEERING_CRDS = DATA / "kopf-peering-crds.yaml"
WORKLOAD_CRDS = DATA / "workload-crds.yaml"
_DEFAULT = REPO_ROOT / "crds"


class Cluster:
    """A throwaway cluster on loopback: use as a context manager."""

    def __init__(
        self,
        crds: Path | str | None = _DEFAULT,
        *,
        namespace: str = "default",
        node_labels: dict[str, str] | None = None,
        max_concurrent: int = 8,
        kubelet: bool = True,
        bookmark_interval: float = 10.0,
        history_size: int = 20000,
        workloads: bool = False,
    ) -> None:
        self.crds = Path(crds) if crds is not None else None
        self.namespace = namespace
        self.emulator = Emulator(bookmark_interval=bookmark_interval, history_size=history_size)
        self.kubelet: LocalKubelet | None = None
        if kubelet:
            self.kubelet = LocalKubelet(
                self.emulator.store, self.emulator.logs,
                labels=node_labels, max_concurrent=max_concurrent, repo_root=REPO_ROOT,
            )  # fmt: skip
        self.workloads: FakeWorkloadController | None = None
        self.kueue: FakeKueue | None = None
        if workloads:  # test doubles of the Job/JobSet/Kubeflow controllers and of Kueue
            self.workloads = FakeWorkloadController(self.emulator.store)
            self.kueue = FakeKueue(self.emulator.store)
        self.workdir = Path(tempfile.mkdtemp(prefix="tradeoff-cluster-"))
        self.kubeconfig = self.workdir / "kubeconfig"

    # ----- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        self.emulator.start()
        try:
            self.emulator.load_yaml(PEERING_CRDS)
            if self.crds is not None and self.crds.exists() and any(self.crds.glob("*.y*ml")):
                self.emulator.load_yaml(self.crds)
            if self.namespace != "default":
                self.emulator.apply(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
                )
            self.emulator.write_kubeconfig(self.kubeconfig, self.namespace)
            if self.kubelet is not None:
                self.kubelet.start()
            if self.workloads is not None and self.kueue is not None:
                self.emulator.load_yaml(WORKLOAD_CRDS)
                self.workloads.start()
                self.kueue.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for double in (self.workloads, self.kueue):
            if double is not None:
                double.stop()
        if self.kubelet is not None:
            self.kubelet.stop()
        self.emulator.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ----- handles ---------------------------------------------------------------------
    @property
    def api(self) -> Store:
        """The in-process object store, for assertions (`api.list`, `api.get`, ...)."""
        return self.emulator.store

    @property
    def url(self) -> str:
        return self.emulator.url

    def env(self) -> dict[str, str]:
        """Environment for subprocesses that should talk to this cluster (KUBECONFIG set)."""
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.workdir)}

    def client(self) -> Any:
        """An official `kubernetes.client.ApiClient` configured for this cluster."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))  # type: ignore[no-untyped-call,unused-ignore]

    def resource(self, plural: str, group: str = "") -> ResourceType:
        matches = [rt for rt in self.api.types() if rt.plural == plural and rt.group == group]
        if not matches:
            raise KeyError(f"no served resource {plural!r} in group {group!r}")
        return matches[0]

    def get(
        self, plural: str, name: str, namespace: str | None = None, group: str = ""
    ) -> Obj | None:
        """A copy of one object, or None."""
        rt = self.resource(plural, group)
        ns = (namespace or self.namespace) if rt.namespaced else ""
        found = self.api.find(rt, ns, name)
        return None if found is None else self.api.get(rt, ns, name)

    def list(
        self,
        plural: str,
        namespace: str | None = None,
        group: str = "",
        selector: str | None = None,
    ) -> ObjList:
        """Copies of the objects of a resource (all namespaces when `namespace` is None)."""
        items, _ = self.api.list(self.resource(plural, group), namespace, label_matcher(selector))
        return items

    def apply(self, obj: Obj) -> Obj:
        return self.emulator.apply(obj, self.namespace)

    def load_yaml(self, path: Path | str) -> ObjList:
        return self.emulator.load_yaml(path, self.namespace)

    def request_counts(self) -> Counter[tuple[str, str]]:
        return self.emulator.request_counts()

    def connections(self) -> int:
        """How many connections clients have opened to the API so far."""
        return len(self.emulator.server.peers)

    def pod_log(self, name: str, namespace: str | None = None) -> str:
        pod = self.get("pods", name, namespace)
        if pod is None:
            raise KeyError(f"pod {name} not found")
        container = pod["spec"]["containers"][0]["name"]
        log = self.emulator.logs.get(namespace or self.namespace, name, container)
        return "" if log is None else log.text()

    # ----- tools -----------------------------------------------------------------------
    def kubectl(
        self, *args: str, input: str | None = None, check: bool = False, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl against this cluster (own cache dir, so no stale discovery)."""
        command = [
            "kubectl", "--kubeconfig", str(self.kubeconfig),
            "--cache-dir", str(self.workdir / "kube-cache"), *args,
        ]  # fmt: skip
        result = subprocess.run(
            command, input=input, capture_output=True, text=True, timeout=timeout, env=self.env()
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 10.0,
        interval: float = 0.05,
        message: str = "",
    ) -> T:
        """Poll until `predicate()` is truthy and return its value; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(message or f"condition not met within {timeout}s")
            time.sleep(interval)

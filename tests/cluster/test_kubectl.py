"""The real kubectl against the emulator: apply, get (printer columns), describe, logs, delete."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from tests.cluster.harness import DATA, REPO_ROOT, Cluster

WIDGET = """
apiVersion: example.dev/v1
kind: Widget
metadata:
  name: {name}
spec:
  size: {size}
  label: abc
"""


HELLO = "print('hello from the pod')"


HELLO = "print('hello from the pod')"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_kubectl_apply_get_describe_delete_with_printer_columns(
    cluster: Cluster, tmp_path: Path
) -> None:
    applied = cluster.kubectl("apply", "-f", str(DATA / "widget-crd.yaml"), check=True)
    assert (
        "customresourcedefinition.apiextensions.k8s.io/widgets.example.dev created"
        in applied.stdout
    )
    manifest = write(tmp_path, "w.yaml", WIDGET.format(name="w1", size=3))
    assert (
        "widget.example.dev/w1 created"
        in cluster.kubectl("apply", "-f", manifest, check=True).stdout
    )
    cluster.api.patch(
        cluster.resource("widgets", "example.dev"), "default", "w1", "application/merge-patch+json",
        {"status": {"state": "Running", "counts": {"done": 4}}}, subresource="status",
    )  # fmt: skip
    table = cluster.kubectl("get", "widgets", check=True).stdout.splitlines()
    assert table[0].split() == ["NAME", "STATE", "SIZE", "AGE"]
    assert table[1].split()[:3] == ["w1", "Running", "3"]
    wide = cluster.kubectl("get", "wg", "-o", "wide", check=True).stdout.splitlines()
    assert wide[0].split() == ["NAME", "STATE", "SIZE", "DONE", "AGE"] and wide[1].split()[3] == "4"
    updated = write(tmp_path, "w.yaml", WIDGET.format(name="w1", size=5))
    assert (
        "widget.example.dev/w1 configured"
        in cluster.kubectl("apply", "-f", updated, check=True).stdout
    )
    as_json = json.loads(cluster.kubectl("get", "widget", "w1", "-o", "json", check=True).stdout)
    assert as_json["spec"]["size"] == 5 and as_json["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in as_json["metadata"]["annotations"]
    as_yaml = yaml.safe_load(
        cluster.kubectl("get", "widget", "w1", "-o", "yaml", check=True).stdout
    )
    assert as_yaml["status"] == {"state": "Running", "counts": {"done": 4}}
    described = cluster.kubectl("describe", "widget", "w1", check=True).stdout
    assert re.search(r"Name:\s+w1", described) and re.search(r"State:\s+Running", described)
    deleted = cluster.kubectl("delete", "-f", updated, check=True).stdout
    assert 'widget.example.dev "w1" deleted' in deleted
    assert "No resources found" in cluster.kubectl("get", "widgets").stderr


def test_kubectl_reports_schema_errors_readably(widgets: Cluster, tmp_path: Path) -> None:
    invalid = write(tmp_path, "bad.yaml", WIDGET.format(name="bad", size=0))
    result = widgets.kubectl("apply", "-f", invalid)
    assert result.returncode == 1
    assert 'The Widget "bad" is invalid' in result.stderr
    assert (
        "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"
        in result.stderr
    )
    unknown = write(tmp_path, "unknown.yaml", WIDGET.format(name="odd", size=1) + "  bogus: 1\n")
    result = widgets.kubectl("apply", "-f", unknown)
    assert (
        result.returncode == 1
        and 'strict decoding error: unknown field "spec.bogus"' in result.stderr
    )
    lenient = widgets.kubectl("apply", "--validate=false", "-f", unknown, check=True)
    assert "widget.example.dev/odd created" in lenient.stdout
    assert "bogus" not in widgets.get("widgets", "odd", group="example.dev")["spec"]  # type: ignore[index]


def test_kubectl_pods_logs_and_follow(cluster: Cluster, tmp_path: Path) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hello", "labels": {"app": "demo"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "main", "image": "python:3.11", "command": ["python", "-c", HELLO]}
            ],
        },
    }
    manifest = write(tmp_path, "pod.yaml", yaml.safe_dump(pod))
    assert "pod/hello created" in cluster.kubectl("apply", "-f", manifest, check=True).stdout
    cluster.wait_for(lambda: cluster.get("pods", "hello")["status"]["phase"] == "Succeeded")  # type: ignore[index]
    pods = cluster.kubectl("get", "pods", "-l", "app=demo", check=True).stdout.splitlines()
    assert pods[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[:3] == ["hello", "0/1", "Completed"]
    assert cluster.kubectl("logs", "hello", check=True).stdout == "hello from the pod\n"
    slow = (
        "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.3)\n"
    )
    pod["metadata"] = {"name": "ticker"}
    pod["spec"]["containers"][0]["command"] = ["python", "-c", slow]  # type: ignore[index]
    cluster.apply(pod)
    cluster.wait_for(lambda: cluster.get("pods", "ticker")["status"]["phase"] == "Running")  # type: ignore[index]
    followed = cluster.kubectl("logs", "-f", "ticker", check=True, timeout=20)
    assert followed.stdout == "tick 0\ntick 1\ntick 2\n"
    described = cluster.kubectl("describe", "pod", "hello", check=True).stdout
    assert re.search(r"Reason:\s+Completed", described) and re.search(r"Exit Code:\s+0", described)
    assert 'pod "hello" deleted' in cluster.kubectl("delete", "pod", "hello", check=True).stdout


def test_kubectl_get_nodes_namespaces_and_crds(cluster: Cluster) -> None:
    nodes = cluster.kubectl("get", "nodes", check=True).stdout.splitlines()
    assert nodes[1].split()[:2] == ["local-node", "Ready"]
    labels = cluster.kubectl(
        "get", "node", "local-node", "-o", "jsonpath={.metadata.labels}", check=True
    )
    assert json.loads(labels.stdout)["topology.kubernetes.io/region"] == "eu-north-1"
    crds = cluster.kubectl("get", "crds", check=True).stdout
    assert "kopfpeerings.kopf.dev" in crds and "clusterkopfpeerings.kopf.dev" in crds
    result = cluster.kubectl("get", "pods", "nonexistent")
    assert result.returncode == 1 and 'pods "nonexistent" not found' in result.stderr
    assert isinstance(result, subprocess.CompletedProcess)


def test_kubectl_typed_creates_send_protobuf(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "team", check=True)
    cluster.kubectl("create", "configmap", "cfg", "-n", "team", "--from-literal=a=1", check=True)
    cluster.kubectl(
        "create", "secret", "generic", "s", "-n", "team", "--from-literal=k=v", check=True
    )
    cluster.kubectl("label", "configmap", "cfg", "-n", "team", "tier=gold", check=True)
    config = cluster.get("configmaps", "cfg", namespace="team")
    assert config is not None and config["data"] == {"a": "1"}
    assert config["metadata"]["labels"] == {"tier": "gold"}
    secret = cluster.get("secrets", "s", namespace="team")
    assert secret is not None and secret["data"] == {"k": "dg=="}


NON_STRUCTURAL = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.dev}
spec:
  group: example.dev
  scope: Namespaced
  names: {kind: Gadget, plural: gadgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {minimum: 1}
                mode: {anyOf: [{type: string}, {type: integer}]}
"""


def test_non_structural_crd_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    result = cluster.kubectl("apply", "-f", write(tmp_path, "crd.yaml", NON_STRUCTURAL))
    assert result.returncode == 1
    root = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties"
    assert (
        f"{root}[size].type: Required value: must not be empty for specified object fields"
        in result.stderr
    )
    assert f"{root}[mode].anyOf[0].type: Forbidden: must be empty to be structural" in result.stderr


def test_kubectl_get_wide_shows_the_studys_algorithm(cluster: Cluster, tmp_path: Path) -> None:
    """The Study CRD's printer columns: the algorithm only with `-o wide` (priority 1)."""
    study = yaml.safe_load((REPO_ROOT / "examples" / "quickstart.yaml").read_text())
    applied = cluster.kubectl("apply", "-f", write(tmp_path, "s.yaml", yaml.safe_dump(study)))
    assert applied.returncode == 0, applied.stderr
    status = {
        "state": "Running",
        "progress": "3/60",
        "algorithm": {"name": "tpe", "reason": "auto: categorical or conditional parameters"},
    }
    cluster.api.patch(
        cluster.resource("studies", "tradeoff.dev"), "default", "quickstart",
        "application/merge-patch+json", {"status": status}, subresource="status",
    )  # fmt: skip
    narrow = cluster.kubectl("get", "studies", check=True).stdout.splitlines()
    assert narrow[0].split() == ["NAME", "STATE", "PROGRESS", "RECOMMENDED", "AGE"]
    wide = cluster.kubectl("get", "studies", "-o", "wide", check=True).stdout.splitlines()
    header = wide[0].split()
    assert header == [
        "NAME", "STATE", "PROGRESS", "RECOMMENDED", "SPENT", "HYPERVOLUME", "ALGORITHM", "AGE"
    ]  # fmt: skip
    start = wide[0].index("ALGORITHM")
    assert wide[1][start:].split()[0] == "tpe"

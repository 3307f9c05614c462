"""Result commands on a cluster Study (`study/NAME`), through the kubeconfig as kubectl.

The Study and its Trials are stored in the API emulator as the operator leaves them
(status included); the CLI runs as a process with the emulator's kubeconfig.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from tests.cluster.harness import Cluster
from tests.results_data import FRONT, INFEASIBLE, RECOMMENDED, TRIALS, cluster_objects
from tests.results_data import records as make_records
from tests.results_data import study as study_object
from tradeoff.engine.insights import insights

MERGE = "application/merge-patch+json"


def put(cluster: Cluster, body: dict[str, Any]) -> dict[str, Any]:
    """Create the object, then write its status through the status subresource."""
    plural = "studies" if body["kind"] == "Study" else "trials"
    stored = cluster.apply({k: v for k, v in body.items() if k != "status"})
    cluster.api.patch(
        cluster.resource(plural, "tradeoff.dev"), cluster.namespace, body["metadata"]["name"],
        MERGE, {"status": body.get("status") or {}}, subresource="status",
    )  # fmt: skip
    return stored


def put_study(cluster: Cluster, name: str = "demo", scale: float = 1.0) -> dict[str, Any]:
    """The Study with its status and its Trials, owned by it as the operator makes them."""
    study, records = cluster_objects(name, scale)
    stored = put(cluster, study)
    uid = stored["metadata"]["uid"]
    owner = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "name": name,
        "uid": uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    for record in records:
        body = record.model_dump(mode="json", by_alias=True, exclude_none=True)
        body["metadata"]["ownerReferences"] = [owner]
        put(cluster, body)
    return stored


def tradeoff(cluster: Cluster, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", *argv],
        env={**cluster.env(), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_show_export_best_of_a_cluster_study(cluster: Cluster, tmp_path: Path) -> None:
    put_study(cluster)
    # A Trial labelled for the Study but not made by the operator: never counted.
    stray = make_records("demo")[1].model_dump(mode="json", by_alias=True, exclude_none=True)
    stray["metadata"]["name"] = "demo-9999"
    stray["spec"]["number"] = 9999
    stray["status"]["values"] = [0.99, 1e-7]
    put(cluster, stray)

    shown = tradeoff(cluster, "show", "study/demo")
    assert shown.returncode == 0, shown.stderr
    assert "study/demo in namespace default" in shown.stdout
    assert "Pareto front (3 trials)" in shown.stdout and f"{RECOMMENDED} ★" in shown.stdout
    assert "Study demo Succeeded (MaxTrialsReached): all 7 trials ran" in shown.stdout
    assert "demo-9999" not in shown.stdout

    exported = tradeoff(cluster, "export", "study/demo", "--format", "csv")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [r["trial"] for r in rows] == [f"demo-{n:04d}" for n in TRIALS]
    assert {r["trial"] for r in rows if r["front"] == "True"} == FRONT
    assert next(r for r in rows if r["trial"] == INFEASIBLE)["feasible"] == "False"

    best = tradeoff(cluster, "best", "study/demo", "--format", "yaml")
    assert best.returncode == 0 and yaml.safe_load(best.stdout) == TRIALS[0][0]

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    written = tradeoff(cluster, "export", "study/demo", "--optuna-storage", url)
    assert written.returncode == 0, written.stderr
    loaded = optuna.load_study(study_name="demo", storage=url)
    assert [t.params for t in loaded.trials] == [p for p, _, _, _ in TRIALS.values()]

    report = tradeoff(cluster, "report", "study/demo", "-o", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    assert all(f"demo-{n:04d}" in (tmp_path / "r.html").read_text() for n in TRIALS)

    found = tradeoff(cluster, "insights", "study/demo", "--format", "json")
    assert found.returncode == 0, found.stderr
    expected = [i.wire() for i in insights(study_object().spec, make_records("demo"))]
    assert json.loads(found.stdout) == expected and expected[0]["kind"] == "importance"


def test_list_and_compare_cluster_studies(cluster: Cluster) -> None:
    put_study(cluster, "demo")
    put_study(cluster, "better", scale=1.05)
    listed = tradeoff(cluster, "list", "--cluster")
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if line.startswith("│")]
    rows = [r for r in rows if r.split("│")[1].strip()]  # not a wrapped cell's next line
    assert [r.split("│")[1].strip() for r in rows] == ["better", "demo"]
    assert all("Succeeded" in r for r in rows)
    compared = tradeoff(cluster, "compare", "study/demo", "study/better")
    assert compared.returncode == 0, compared.stderr
    marked = [line for line in compared.stdout.splitlines() if "◆ │" in line]
    assert len(marked) == 3 and all("better-" in line for line in marked)
    empty = tradeoff(cluster, "list", "--cluster", "-n", "kube-system")
    assert empty.returncode == 0 and "demo" not in empty.stdout


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["show", "study/nope"], {}, "study/nope: no Study 'nope' in namespace default"),
        (["insights", "study/nope"], {}, "study/nope: no Study 'nope' in namespace default"),
        (["best", "study/demo", "--objective", "f9"], {}, "--objective: demo has no objective"),
        (["show", "study/demo", "--context", "nope"], {}, "--context: no context 'nope'"),
        (["show", "study/demo"], {"KUBECONFIG": "/nonexistent"}, "no usable kubeconfig"),
        (["list", "--cluster"], {"KUBECONFIG": "/nonexistent"}, "no usable kubeconfig"),
    ],
)
def test_cluster_errors_are_one_line_and_exit_2(
    cluster: Cluster, argv: list[str], env: dict[str, str], expected: str
) -> None:
    put_study(cluster)
    done = subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", *argv],
        env={**cluster.env(), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done
    assert expected in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_unreachable_cluster_is_one_line(cluster: Cluster, tmp_path: Path) -> None:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "http://127.0.0.1:9"
    broken = tmp_path / "kubeconfig"
    broken.write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", "show", "study/demo"],
        env={**cluster.env(), "KUBECONFIG": str(broken)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "cannot reach the cluster at http://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr


def test_export_json_round_trips(cluster: Cluster) -> None:
    put_study(cluster)
    done = tradeoff(cluster, "export", "study/demo", "--format", "json")
    rows = json.loads(done.stdout)
    assert [r["parameters"] for r in rows] == [p for p, _, _, _ in TRIALS.values()]
    assert [r["state"] for r in rows] == [s for _, s, _, _ in TRIALS.values()]


def test_a_cluster_without_the_crds_says_so() -> None:
    with Cluster(crds=None, kubelet=False) as bare:
        done = tradeoff(bare, "list", "--cluster")
    assert done.returncode == 2 and done.stdout == ""
    assert "studies: not served in namespace default" in done.stderr
    assert "are Tradeoff's CRDs installed?" in done.stderr


def test_propose_from_a_cluster_study(cluster: Cluster, tmp_path: Path) -> None:
    """The next Study of a cluster Study: warm-started from it, valid, and accepted by the
    cluster as it is written."""
    put_study(cluster)
    out = tmp_path / "next.yaml"
    proposed = tradeoff(cluster, "propose", "study/demo", "-o", str(out))
    assert proposed.returncode == 0, proposed.stderr
    manifest = yaml.safe_load(out.read_text())
    assert manifest["metadata"]["name"] == "demo-2"
    assert {"name": "demo"} in manifest["spec"]["warmStart"]["fromStudies"]
    validated = tradeoff(cluster, "validate", str(out))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    applied = cluster.kubectl("apply", "-f", str(out))
    assert applied.returncode == 0, applied.stderr
    assert cluster.get("studies", "demo-2", group="tradeoff.dev") is not None

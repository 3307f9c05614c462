"""Smoke test against a real cluster (kind, k3d, ...): skipped without KUBECONFIG.

Needs the CRDs installed (`kubectl apply -f crds/` or the Helm chart) and an image that
holds Tradeoff (`TRADEOFF_TEST_IMAGE`, default `tradeoff:0.1.0`, e.g. loaded with
`kind load docker-image tradeoff:0.1.0`). The operator runs locally against the cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
import yaml

from tests.e2e.helpers import REPO, study_manifest

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        not os.environ.get("KUBECONFIG"), reason="needs KUBECONFIG (a real cluster)"
    ),
]


def kubectl(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", *args], input=input, capture_output=True, text=True)


def test_a_small_study_succeeds_in_a_real_cluster() -> None:
    namespace = os.environ.get("TRADEOFF_TEST_NAMESPACE", "default")
    image = os.environ.get("TRADEOFF_TEST_IMAGE", "tradeoff:0.1.0")
    name = f"smoke-{uuid.uuid4().hex[:6]}"
    manifest = study_manifest(name, budget={"maxTrials": 2, "parallelism": 2})
    container = manifest["spec"]["trialTemplate"]["pod"]["containers"][0]
    container["image"] = image
    container["imagePullPolicy"] = "IfNotPresent"
    manifest["spec"]["trialTemplate"]["pod"]["securityContext"] = {"runAsUser": 10001}
    operator = subprocess.Popen(
        [sys.executable, "-m", "tradeoff.cli", "operator", "-n", namespace, "--standalone"],
        cwd=REPO,
    )
    try:
        applied = kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(manifest))
        assert applied.returncode == 0, applied.stderr
        deadline = time.monotonic() + 240
        status: dict[str, object] = {}
        while time.monotonic() < deadline:
            got = kubectl("get", "study", name, "-n", namespace, "-o", "json")
            status = json.loads(got.stdout).get("status") or {} if got.returncode == 0 else {}
            if status.get("state") in ("Succeeded", "Failed"):
                break
            time.sleep(2)
        assert status.get("state") == "Succeeded", status
        print(kubectl("get", "studies,trials", "-n", namespace, "-o", "wide").stdout)
    finally:
        kubectl("delete", "study", name, "-n", namespace, "--wait=true", "--timeout=60s")
        operator.terminate()
        operator.wait(30)

"""The chart's trialPolicy.workloads: the kinds a trial may be, their RBAC and the setting.

Rendered with the real Helm engine; the operator's own parser reads the rendered setting.
"""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest

from tests.chart.test_chart import (
    ALLOWED,
    KUBE_VERSION,
    NAMESPACE,
    RELEASE,
    chart,
    container,
    grants,
    namespace_roles,
    render,
    rules_of,
)
from tradeoff.kube.settings import trial_policy_from, workload_kinds

__all__ = ["chart"]

WORKLOADS = [
    {"apiVersion": "batch/v1", "kind": "Job", "resource": "jobs"},
    {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "resource": "pytorchjobs"},
]
VERBS = {"get", "list", "watch", "create", "delete"}
"""What the operator does with a workload (tradeoff/kube/client.py; kopf watches it)."""


def _env(docs: list[dict[str, Any]]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(docs)["env"]}


def test_no_workload_kind_and_no_rbac_for_one_by_default(chart: helm.Chart) -> None:
    docs = render(chart, {})
    assert "TRADEOFF_WORKLOAD_KINDS" not in _env(docs)
    assert {(g, r) for _, g, r, _ in grants(docs)} <= set(ALLOWED)


@pytest.mark.parametrize("scope", ["cluster", "namespaced"])
def test_each_allowed_kind_gets_exactly_its_rbac_and_reaches_the_operator(
    chart: helm.Chart, scope: str
) -> None:
    values = {"trialPolicy": {"workloads": WORKLOADS}, "rbac": {"scope": scope}}
    docs = render(chart, values)
    extra = {(g, r, v) for _, g, r, v in grants(docs) if (g, r) not in ALLOWED}
    assert extra == {(g, r, v) for g, r in (("batch", "jobs"), ("kubeflow.org", "pytorchjobs"))
                     for v in VERBS}  # fmt: skip
    if scope == "namespaced":
        for role in namespace_roles(docs):
            assert ("batch", "jobs", "create") in rules_of(role)
    env = _env(docs)["TRADEOFF_WORKLOAD_KINDS"]
    assert workload_kinds(env) == {
        ("batch/v1", "Job"): "jobs",
        ("kubeflow.org/v1", "PyTorchJob"): "pytorchjobs",
    }
    policy = trial_policy_from(None, None, {"TRADEOFF_WORKLOAD_KINDS": env})
    assert policy.workload_kinds == (("batch/v1", "Job"), ("kubeflow.org/v1", "PyTorchJob"))
    for doc in docs:
        if doc["kind"] in ("ClusterRole", "Role", "Deployment"):
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)  # raises if invalid


@pytest.mark.parametrize(
    "entry",
    [
        {"apiVersion": "batch/v1", "kind": "Job"},
        {"apiVersion": "batch", "kind": "Job", "resource": "jobs"},
        {"apiVersion": "batch/v1", "kind": "Job", "resource": "Jobs"},
        {"apiVersion": "batch/v1", "kind": "Job", "resource": "jobs", "verbs": ["*"]},
    ],
)
def test_the_schema_refuses_a_bad_workload_entry(chart: helm.Chart, entry: dict[str, Any]) -> None:
    with pytest.raises(helm.HelmValuesError, match="/trialPolicy/workloads/0"):
        chart.render({"trialPolicy": {"workloads": [entry]}}, name=RELEASE, namespace=NAMESPACE)

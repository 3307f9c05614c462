"""CEL validation rules (`x-kubernetes-validations`) as the API server enforces them: the
repository's immutability rules seen through kubectl and HTTP, and the rule machinery on
a CRD of the harness's own."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.cluster.harness import Cluster
from tests.cluster.patch import MERGE

GROUP = "tradeoff.dev"


def study() -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "fixed"},
        "spec": {
            "objectives": [{"name": "accuracy", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0, "high": 1}],
            "budget": {"maxTrials": 3},
            "trialTemplate": {"pod": {"containers": [{"name": "t", "image": "i"}]}},
        },
    }


def trial() -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "Trial",
        "metadata": {"name": "fixed-0000", "labels": {"tradeoff.dev/study": "fixed"}},
        "spec": {"study": "fixed", "number": 0, "parameters": {"x": 0.5}},
    }


def patch(cluster: Cluster, kind: str, name: str, body: dict[str, Any]) -> Any:
    return cluster.kubectl("patch", kind, name, "--type=merge", "-p", json.dumps(body))


def test_kubectl_cannot_change_a_trials_spec(cluster: Cluster) -> None:
    cluster.apply(trial())
    for change in ({"parameters": {"x": 0.9}}, {"number": 7}, {"samplerState": {"a": 1}}):
        refused = patch(cluster, "trial", "fixed-0000", {"spec": change})
        assert refused.returncode != 0
        assert refused.stderr.strip() == (
            'The Trial "fixed-0000" is invalid: spec: Invalid value: "object": '
            "Trial spec is immutable"
        ), refused.stderr
    stored = cluster.get("trials", "fixed-0000", group=GROUP)
    assert stored is not None and stored["spec"]["parameters"] == {"x": 0.5}
    # Metadata and the status subresource stay writable (the operator writes both).
    assert (
        patch(cluster, "trial", "fixed-0000", {"metadata": {"labels": {"a": "b"}}}).returncode == 0
    )
    cluster.api.patch(
        cluster.resource("trials", GROUP), "default", "fixed-0000", MERGE,
        {"status": {"state": "Running"}}, subresource="status",
    )  # fmt: skip
    # The same spec written again is no change.
    assert patch(cluster, "trial", "fixed-0000", {"spec": {"number": 0}}).returncode == 0


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("parameters", [{"name": "x", "type": "float", "low": 0, "high": 2}], "array"),
        ("objectives", [{"name": "accuracy", "direction": "minimize"}], "array"),
        ("algorithm", {"name": "tpe"}, "object"),
    ],
)
def test_a_studys_space_objectives_and_algorithm_are_fixed(
    cluster: Cluster, field: str, value: Any, kind: str
) -> None:
    cluster.apply(study())
    refused = patch(cluster, "study", "fixed", {"spec": {field: value}})
    assert refused.returncode != 0
    assert refused.stderr.strip() == (
        f'The Study "fixed" is invalid: spec.{field}: Invalid value: "{kind}": {field} cannot '
        "change after the Study is created; create a new Study instead"
    )
    # Through the API client the same: a 422 whose cause names the field.
    api = client.CustomObjectsApi(cluster.client())
    with pytest.raises(ApiException) as error:
        api.patch_namespaced_custom_object(
            GROUP, "v1alpha1", "default", "studies", "fixed", {"spec": {field: value}}
        )
    assert error.value.status == 422
    body = json.loads(error.value.body)
    assert body["reason"] == "Invalid"
    assert body["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": f'Invalid value: "{kind}": {field} cannot change after the Study is '
            "created; create a new Study instead",
            "field": f"spec.{field}",
        }
    ]


def test_other_study_fields_stay_editable(cluster: Cluster) -> None:
    cluster.apply(study())
    edited = patch(cluster, "study", "fixed", {"spec": {"budget": {"maxTrials": 9}}})
    assert edited.returncode == 0, edited.stderr
    # Written as 0 or 0.0, 1 or 1.0: the same numbers, so the same space.
    same = [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}]
    assert patch(cluster, "study", "fixed", {"spec": {"parameters": same}}).returncode == 0
    # Defaulting made the algorithm {name: auto}: writing it out is no change either.
    auto = {"spec": {"algorithm": {"name": "auto"}}}
    assert patch(cluster, "study", "fixed", auto).returncode == 0
    stored = cluster.get("studies", "fixed", group=GROUP)
    assert stored is not None and stored["spec"]["budget"]["maxTrials"] == 9


RULED = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.dev"},
    "spec": {
        "group": "example.dev",
        "scope": "Namespaced",
        "names": {"kind": "Gadget", "plural": "gadgets", "singular": "gadget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.low <= self.high",
                                        "messageExpression": "'low ' + string(self.low) + "
                                        "' is above high ' + string(self.high)",
                                    },
                                    {
                                        "rule": "self.high >= oldSelf.high",
                                        "message": "high may only grow",
                                        "reason": "FieldValueForbidden",
                                        "fieldPath": ".high",
                                    },
                                ],
                                "properties": {
                                    "low": {"type": "integer"},
                                    "high": {"type": "integer"},
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def gadget(low: int, high: int) -> dict[str, Any]:
    return {
        "apiVersion": "example.dev/v1",
        "kind": "Gadget",
        "metadata": {"name": "g"},
        "spec": {"low": low, "high": high},
    }


def test_rules_on_create_transition_rules_on_update(cluster: Cluster) -> None:
    cluster.apply(RULED)
    refused = cluster.kubectl("apply", "-f", "-", input=json.dumps(gadget(5, 2)))
    assert 'spec: Invalid value: "object": low 5 is above high 2' in refused.stderr
    assert cluster.kubectl("apply", "-f", "-", input=json.dumps(gadget(1, 5))).returncode == 0
    shrunk = cluster.kubectl("apply", "-f", "-", input=json.dumps(gadget(1, 4)))
    assert "spec.high: Forbidden: high may only grow" in shrunk.stderr
    assert cluster.kubectl("apply", "-f", "-", input=json.dumps(gadget(1, 6))).returncode == 0


def test_a_rule_that_does_not_compile_refuses_the_crd(cluster: Cluster) -> None:
    broken = json.loads(json.dumps(RULED))
    spec = broken["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["x-kubernetes-validations"] = [{"rule": "self.low <="}]
    refused = cluster.kubectl("apply", "-f", "-", input=json.dumps(broken))
    assert refused.returncode != 0
    assert (
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0]"
        '.rule: Invalid value: "self.low <=": compilation failed' in refused.stderr
    )

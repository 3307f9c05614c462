"""The chart's admission policy: its own CEL, evaluated for allowed and refused requesters.

The expressions are read from the rendered chart and evaluated by cel-python. Kubernetes'
`authorizer` is an extension library of the API server (k8s.io/apiserver/pkg/cel/library,
`Authz`); here a test double with the same methods answers from a table of who may do
what, and records what it was asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import celpy
import helm_python as helm
import pytest
from celpy import celtypes

from tests.chart.test_chart import CHART, NAMESPACE, RELEASE, Manifest, of_kind, render

Grant = tuple[str, str, str, str, str]
"""(user, apiGroup, resource, namespace or "*", verb)."""

GRANTS: set[Grant] = {
    ("alice", "", "pods", "ml", "create"),  # an editor of ml
    ("bob", "", "pods", "ml", "get"),  # may read pods in ml, not create them
    ("bob", "apps", "pods", "ml", "create"),  # another group's "pods" is not pods
    ("carol", "", "pods", "*", "create"),  # a ClusterRoleBinding: every namespace
}


@dataclass(frozen=True)
class Decision:
    """`Decision` of the Authz library: allowed(), reason(), errored(), error()."""

    allowed_: bool

    def allowed(self) -> celtypes.BoolType:
        return celtypes.BoolType(self.allowed_)

    def reason(self) -> celtypes.StringType:
        return celtypes.StringType("RBAC: allowed" if self.allowed_ else "")

    def errored(self) -> celtypes.BoolType:
        return celtypes.BoolType(False)

    def error(self) -> celtypes.StringType:
        return celtypes.StringType("")


@dataclass(frozen=True)
class ResourceCheck:
    """`ResourceCheck`: subresource(), namespace(), name(), check(verb)."""

    authorizer: Authorizer
    group: str
    resource: str
    subresource_: str = ""
    namespace_: str = ""
    name_: str = ""

    def subresource(self, value: str) -> ResourceCheck:
        return replace(self, subresource_=str(value))

    def namespace(self, value: str) -> ResourceCheck:
        return replace(self, namespace_=str(value))

    def name(self, value: str) -> ResourceCheck:
        return replace(self, name_=str(value))

    def check(self, verb: str) -> Decision:
        return self.authorizer.decide(self, str(verb))


@dataclass(frozen=True)
class GroupCheck:
    """`GroupCheck`: resource(name)."""

    authorizer: Authorizer
    group_: str

    def resource(self, value: str) -> ResourceCheck:
        return ResourceCheck(self.authorizer, self.group_, str(value))


@dataclass
class Authorizer:
    """`Authorizer` for one requester: group(name) (path() and serviceAccount() are not
    used by the chart and so not offered: calling them fails the evaluation)."""

    user: str
    grants: set[Grant]
    asked: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)

    def group(self, value: str) -> GroupCheck:
        return GroupCheck(self, str(value))

    def decide(self, check: ResourceCheck, verb: str) -> Decision:
        asked = (check.group, check.resource, check.subresource_, check.namespace_)
        self.asked.append((*asked, check.name_, verb))
        if check.subresource_ or check.name_:
            return Decision(False)
        allowed = any(
            (self.user, check.group, check.resource, ns, verb) in self.grants
            for ns in (check.namespace_, "*")
        )
        return Decision(allowed)


def _method(name: str) -> Callable[..., Any]:
    """A receiver-style CEL function `x.name(args)` that exists only where the library
    defines it; anything else is "no such overload", as in Kubernetes' type checker."""

    def call(target: Any, *args: Any) -> Any:
        if isinstance(target, Authorizer | GroupCheck | ResourceCheck | Decision):
            member = getattr(target, name, None)
            if callable(member):
                return member(*args)
        raise TypeError(f"no method {name} on {type(target).__name__}")

    return call


AUTHZ = {
    name: _method(name)
    for name in (
        "group",
        "resource",
        "subresource",
        "namespace",
        "name",
        "check",
        "allowed",
        "reason",
        "errored",
        "error",
    )
}


def evaluate(expression: str, activation: dict[str, Any]) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(expression), functions=AUTHZ).evaluate(activation)


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


@pytest.fixture(scope="module")
def policy(chart: helm.Chart) -> Manifest:
    (found,) = of_kind(render(chart, {}), "ValidatingAdmissionPolicy")
    return found


def study(namespace: str, image: str = "trainer:1") -> dict[str, Any]:
    return {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "s", "namespace": namespace, "finalizers": ["tradeoff.dev/operator"]},
        "spec": {"trialTemplate": {"pod": {"containers": [{"name": "t", "image": image}]}}},
    }


def request(
    user: str, namespace: str, operation: str, old: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The CEL variables of an admission request for a Study (no `authorizer`); an UPDATE
    changes the trial image unless `old` says what the Study was."""
    new = study(namespace)
    if operation == "UPDATE" and old is None:
        old = study(namespace, image="trainer:0")
    return {
        "object": celpy.json_to_cel(new),
        "oldObject": celpy.json_to_cel(old),
        "request": celpy.json_to_cel(
            {
                "kind": {"group": "tradeoff.dev", "version": "v1alpha1", "kind": "Study"},
                "resource": {"group": "tradeoff.dev", "version": "v1alpha1", "resource": "studies"},
                "name": "s",
                "namespace": namespace,
                "operation": operation,
                "userInfo": {"username": user, "groups": ["system:authenticated"]},
            }
        ),
    }


def matches(policy: Manifest, variables: dict[str, Any]) -> bool:
    """Whether the policy applies to a Study request: its operations, then every one of its
    matchConditions (evaluated by CEL)."""
    operation = str(variables["request"]["operation"])
    if operation not in policy["spec"]["matchConstraints"]["resourceRules"][0]["operations"]:
        return False
    results = [evaluate(c["expression"], variables) for c in policy["spec"]["matchConditions"]]
    assert all(isinstance(r, celtypes.BoolType) for r in results), results
    return all(results)


def admit(
    policy: Manifest, user: str, namespace: str, operation: str, old: dict[str, Any] | None = None
) -> list[str]:
    """Evaluate the policy as the API server would: the messages of the validations that
    fail (empty: admitted)."""
    if not matches(policy, request(user, namespace, operation, old)):
        return []
    refusals = []
    for validation in policy["spec"]["validations"]:
        authorizer = Authorizer(user, GRANTS)
        variables = request(user, namespace, operation, old)
        verdict = evaluate(validation["expression"], {**variables, "authorizer": authorizer})
        assert isinstance(verdict, celtypes.BoolType), verdict
        assert authorizer.asked == [("", "pods", "", namespace, "", "create")]
        if not verdict:
            # messageExpression may not use the authorizer: evaluated without it.
            message = evaluate(validation["messageExpression"], variables)
            assert isinstance(message, str) and "\n" not in message
            refusals.append(str(message))
    return refusals


@pytest.mark.parametrize("operation", ["CREATE", "UPDATE"])
@pytest.mark.parametrize(
    ("user", "namespace"),
    [("alice", "ml"), ("carol", "ml"), ("carol", "research")],
)
def test_a_requester_who_may_create_pods_there_is_admitted(
    policy: Manifest, user: str, namespace: str, operation: str
) -> None:
    assert admit(policy, user, namespace, operation) == []


@pytest.mark.parametrize("operation", ["CREATE", "UPDATE"])
@pytest.mark.parametrize(
    ("user", "namespace"),
    [
        ("alice", "research"),  # may create pods in ml only
        ("bob", "ml"),  # may read pods, and create another group's "pods"
        ("dave", "ml"),  # may do nothing
    ],
)
def test_a_requester_who_may_not_create_pods_there_is_refused(
    policy: Manifest, user: str, namespace: str, operation: str
) -> None:
    assert admit(policy, user, namespace, operation) == [
        f"a Study runs its trials as pods: {user} may not create pods in namespace"
        f" {namespace}, so may not create or change Studies there (ask for the edit role"
        f" in {namespace})"
    ]
    assert policy["spec"]["validations"][0]["reason"] == "Forbidden"


def test_an_update_that_leaves_the_spec_alone_is_not_checked(policy: Manifest) -> None:
    # The garbage collector removing a finalizer may not create pods, and needs not.
    gc = "system:serviceaccount:kube-system:generic-garbage-collector"
    unchanged = study("ml")
    unchanged["metadata"]["finalizers"] = ["foregroundDeletion", "tradeoff.dev/operator"]
    assert not matches(policy, request(gc, "ml", "UPDATE", old=unchanged))
    assert admit(policy, gc, "ml", "UPDATE", old=unchanged) == []
    # The same requester changing the spec is checked, and refused.
    assert matches(policy, request(gc, "ml", "UPDATE"))
    assert len(admit(policy, gc, "ml", "UPDATE")) == 1
    assert matches(policy, request(gc, "ml", "CREATE"))
    assert not matches(policy, request("alice", "ml", "DELETE"))


def test_the_fake_authorizer_refuses_what_the_library_does_not_offer(policy: Manifest) -> None:
    variables = request("alice", "ml", "CREATE") | {"authorizer": Authorizer("alice", GRANTS)}
    with pytest.raises(celpy.CELEvalError, match="no such overload"):
        evaluate("authorizer.resource('pods').check('create').allowed()", variables)


def test_the_policy_matches_studies_and_its_binding_denies(chart: helm.Chart) -> None:
    docs = render(chart, {})
    (policy,) = of_kind(docs, "ValidatingAdmissionPolicy")
    (binding,) = of_kind(docs, "ValidatingAdmissionPolicyBinding")
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    assert spec["matchConstraints"]["resourceRules"] == [
        {
            "apiGroups": ["tradeoff.dev"],
            "apiVersions": ["*"],
            "operations": ["CREATE", "UPDATE"],
            "resources": ["studies"],
        }
    ]
    assert "paramKind" not in spec
    assert [c["name"] for c in spec["matchConditions"]] == ["creates-or-changes-spec"]
    assert binding["spec"] == {
        "policyName": policy["metadata"]["name"],
        "validationActions": ["Deny"],
    }
    assert policy["metadata"]["name"] == f"{RELEASE}-study-requester"
    assert "namespace" not in policy["metadata"] and "namespace" not in binding["metadata"]
    named = render(chart, {"fullnameOverride": "ml-tuner"})
    assert [p["metadata"]["name"] for p in of_kind(named, "ValidatingAdmissionPolicy")] == [
        "ml-tuner-study-requester"
    ]
    off = render(chart, {"admissionPolicy": {"enabled": False}})
    assert not of_kind(off, "ValidatingAdmissionPolicy")
    assert not of_kind(off, "ValidatingAdmissionPolicyBinding")


@pytest.mark.parametrize(("version", "refused"), [("1.29.0", True), ("1.30.0", False)])
def test_a_cluster_older_than_1_30_is_told_what_to_do(
    capfd: pytest.CaptureFixture[str], version: str, refused: bool
) -> None:
    # Helm's lint reports a template's `fail` on its log rather than as an error.
    helm.lint(CHART, namespace=NAMESPACE, kube_version=version)
    err = capfd.readouterr().err
    found = re.search(r"admissionPolicy\.enabled: a ValidatingAdmissionPolicy needs .*?;", err)
    assert bool(found) == refused, err
    if refused:
        off = {"admissionPolicy": {"enabled": False}}
        helm.lint(CHART, off, namespace=NAMESPACE, kube_version=version)
        assert "admissionPolicy.enabled" not in capfd.readouterr().err

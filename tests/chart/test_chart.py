"""The Helm chart, rendered by the real Helm engine and checked against Kubernetes schemas."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tradeoff.cli import build_parser
from tradeoff.economics import REGION_GRAMS_PER_KWH, EconomicsConfig, intensity_from_json
from tradeoff.kube import command
from tradeoff.kube.artifact_storage import ArtifactBucket
from tradeoff.kube.settings import (
    SettingsError,
    economics_from_json,
    settings_from,
    trial_policy_from,
)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "tradeoff"
KUBE_VERSION = kubernetes_validate.latest_version()
RELEASE, NAMESPACE = "tradeoff", "tradeoff-system"
CRD_KINDS = {"ServiceMonitor", "KopfPeering", "ClusterKopfPeering"}
"""Custom resources of other projects: checked structurally, not against Kubernetes schemas."""
PEERING_CRDS = "kopf-peering.yaml"
"""The one file of the chart's crds/ that the top-level crds/ does not hold (kopf's peering)."""

Manifest = dict[str, Any]

# Exactly what the operator does, (apiGroup, resource) -> verbs: its own calls
# (tradeoff/kube/client.py: get/list/create/delete, status as a JSON patch) and kopf's
# (watching and patching the objects it handles, posting events, peering).
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("tradeoff.dev", "studies"): {"get", "list", "watch", "patch"},
    ("tradeoff.dev", "trials"): {"get", "list", "watch", "create", "patch"},
    ("tradeoff.dev", "studies/status"): {"patch"},
    ("tradeoff.dev", "trials/status"): {"patch"},
    ("tradeoff.dev", "studies/finalizers"): {"update"},
    ("tradeoff.dev", "trials/finalizers"): {"update"},
    ("", "pods"): {"get", "list", "watch", "create", "delete"},
    ("", "pods/log"): {"get"},
    ("", "events"): {"create"},
    ("", "nodes"): {"get"},
    ("kopf.dev", "kopfpeerings"): {"get", "list", "watch", "patch"},
    ("kopf.dev", "clusterkopfpeerings"): {"get", "list", "watch", "patch"},
    ("", "secrets"): {"get", "create"},
}
CLUSTER_ONLY = {("", "nodes"), ("kopf.dev", "clusterkopfpeerings")}
SIGNING_KEY = ("", "secrets")
"""Only in the release namespace, `get` only by name (the signing key's Secret)."""
WRITES = {"create", "update", "patch", "delete", "deletecollection"}

TOGGLES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "service-monitor": {"serviceMonitor": {"enabled": True, "labels": {"release": "prom"}}},
    "dashboard-off": {"dashboard": {"enabled": False}},
    "namespaced": {
        "rbac": {"scope": "namespaced"},
        "operator": {"watchNamespaces": ["ml", "research"]},
    },
    "rbac-off": {"rbac": {"create": False}},
    "service-account-off": {"serviceAccount": {"create": False, "name": "existing"}},
    "node-access-off": {"rbac": {"nodeAccess": False}},
    "namespaced-without-nodes": {"rbac": {"scope": "namespaced", "nodeAccess": False}},
    "peering-off": {"peering": {"enabled": False}},
    "cluster-some-namespaces": {"operator": {"watchNamespaces": ["ml"]}},
    "user-roles-off": {"rbac": {"userRoles": False}},
    "admission-policy-off": {"admissionPolicy": {"enabled": False}},
    "network-policy-off": {"networkPolicy": {"enabled": False}},
    "network-policy-custom": {
        "networkPolicy": {
            "monitoringNamespace": "ignored-when-labels-are-given",
            "monitoringNamespaceSelector": {"team": "observability"},
            "monitoringPodSelector": {"app.kubernetes.io/name": "prometheus"},
            "extraIngress": [
                {"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 8080}]}
            ],
        }
    },
    "ipv6-endpoints": {"operator": {"metricsAddress": "::", "healthAddress": "::"}},
    "artifacts-claim": {
        "artifacts": {"persistentVolumeClaim": {"enabled": True, "storageClassName": "nfs"}}
    },
    "artifacts-s3": {
        "artifacts": {
            "s3": {
                "enabled": True,
                "bucket": "ml-artifacts",
                "prefix": "teams/vision",
                "endpoint": "http://minio.minio:9000",
                "region": "eu-north-1",
                "credentialsSecret": "artifact-keys",
            }
        }
    },
}
NAMESPACED = ("namespaced", "namespaced-without-nodes")


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART) as loaded:
        yield loaded


def render(chart: helm.Chart, values: dict[str, Any]) -> list[Manifest]:
    rendered = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    docs: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def of_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [d for d in docs if d["kind"] == kind]


def deployment(docs: list[Manifest]) -> Manifest:
    (found,) = of_kind(docs, "Deployment")
    return found


def operator_roles(docs: list[Manifest]) -> list[Manifest]:
    """The (Cluster)Roles bound to the operator's ServiceAccount."""
    bound = set()
    for binding in of_kind(docs, "ClusterRoleBinding") + of_kind(docs, "RoleBinding"):
        if any(s["kind"] == "ServiceAccount" for s in binding["subjects"]):
            ref = binding["roleRef"]
            bound.add((ref["kind"], binding["metadata"].get("namespace"), ref["name"]))
    return [
        r
        for r in of_kind(docs, "ClusterRole") + of_kind(docs, "Role")
        if (r["kind"], r["metadata"].get("namespace"), r["metadata"]["name"]) in bound
    ]


def user_roles(docs: list[Manifest]) -> list[Manifest]:
    """The ClusterRoles aggregated into Kubernetes' default user-facing roles."""
    return [
        r
        for r in of_kind(docs, "ClusterRole")
        if any(
            k.startswith("rbac.authorization.k8s.io/aggregate-to-") for k in r["metadata"]["labels"]
        )
    ]


def rules_of(role: Manifest) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) of every rule of a (Cluster)Role."""
    out = set()
    for rule in role["rules"]:
        assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb))
    return out


def grants(docs: list[Manifest]) -> set[tuple[str, str, str, str]]:
    """(role kind, apiGroup, resource, verb) of every rule of the operator's (Cluster)Roles."""
    return {(role["kind"], *rule) for role in operator_roles(docs) for rule in rules_of(role)}


def namespace_roles(docs: list[Manifest]) -> list[Manifest]:
    """The operator's Roles for Studies (not the signing key's Role)."""
    return [
        r
        for r in operator_roles(docs)
        if r["kind"] == "Role" and not r["metadata"]["name"].endswith("-signing-key")
    ]


@pytest.mark.parametrize("case", list(TOGGLES))
def test_every_manifest_is_valid_kubernetes(chart: helm.Chart, case: str) -> None:
    docs = render(chart, TOGGLES[case])
    assert docs
    for doc in docs:
        where = f"{doc.get('kind')} {doc.get('metadata', {}).get('name')}"
        if doc["kind"] in CRD_KINDS:
            check_custom_resource(doc)
            continue
        try:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{case}: {where}: {error.message}")
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "tradeoff", where
        assert labels["app.kubernetes.io/instance"] == RELEASE, where
        assert labels["app.kubernetes.io/managed-by"] == "Helm", where


def check_custom_resource(doc: Manifest) -> None:
    assert set(doc) <= {"apiVersion", "kind", "metadata", "spec"}
    meta = doc["metadata"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", meta["name"])
    if doc["kind"] == "ServiceMonitor":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1"
        spec = doc["spec"]
        assert set(spec) == {"namespaceSelector", "selector", "endpoints"}
        assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
        assert spec["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": "tradeoff",
            "app.kubernetes.io/instance": RELEASE,
        }
        (endpoint,) = spec["endpoints"]
        assert endpoint == {
            "port": "metrics",
            "path": "/metrics",
            "interval": "30s",
            "scrapeTimeout": "10s",
        }
    else:
        assert doc["apiVersion"] == "kopf.dev/v1"
        assert set(doc) == {"apiVersion", "kind", "metadata"}
        assert ("namespace" in meta) == (doc["kind"] == "KopfPeering")


def test_chart_crds_equal_the_generated_crds_byte_for_byte(chart: helm.Chart) -> None:
    generated = {p.name: p.read_bytes() for p in (ROOT / "crds").glob("*.yaml")}
    shipped = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    assert generated, "crds/ is empty: run `tradeoff crds`"
    assert set(shipped) == set(generated) | {PEERING_CRDS}
    for name, data in generated.items():
        assert shipped[name] == data, f"charts/tradeoff/crds/{name} differs from crds/{name}"
    # Helm sees them all, and they are valid CustomResourceDefinitions.
    assert {c["filename"].rsplit("/", 1)[-1] for c in chart.crds} == set(shipped)
    for text in shipped.values():
        for doc in yaml.safe_load_all(text):
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_peering_crds_match_the_peering_objects() -> None:
    docs = list(yaml.safe_load_all((CHART / "crds" / PEERING_CRDS).read_text()))
    scopes = {d["spec"]["names"]["kind"]: d["spec"]["scope"] for d in docs}
    assert scopes == {"ClusterKopfPeering": "Cluster", "KopfPeering": "Namespaced"}
    assert {d["spec"]["group"] for d in docs} == {"kopf.dev"}


@pytest.mark.parametrize("case", list(TOGGLES))
def test_rbac_grants_nothing_beyond_the_allow_list(chart: helm.Chart, case: str) -> None:
    docs = render(chart, TOGGLES[case])
    roles = of_kind(docs, "ClusterRole") + of_kind(docs, "Role")
    assert len(roles) == len(operator_roles(docs)) + len(user_roles(docs))  # nothing else
    for kind, group, resource, verb in grants(docs):
        assert "*" not in (group, resource, verb), (kind, group, resource, verb)
        assert verb in ALLOWED.get((group, resource), set()), (kind, group, resource, verb)
        if kind == "Role":
            assert (group, resource) not in CLUSTER_ONLY
    assert "configmaps" not in {r for _, _, r, _ in grants(docs)}
    # Secrets: create, and get of the signing key's Secret by name, in the release namespace.
    for role in operator_roles(docs):
        for rule in role["rules"]:
            if "secrets" not in rule["resources"]:
                assert "resourceNames" not in rule, rule
                continue
            assert role["kind"] == "Role" and role["metadata"]["namespace"] == NAMESPACE
            assert rule["apiGroups"] == [""] and rule["resources"] == ["secrets"]
            assert rule in (
                {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
                {
                    "apiGroups": [""],
                    "resources": ["secrets"],
                    "resourceNames": ["tradeoff-signing-key"],
                    "verbs": ["get"],
                },
            )


def test_each_namespace_role_grants_exactly_what_the_operator_uses(chart: helm.Chart) -> None:
    docs = render(chart, TOGGLES["namespaced"])
    assert len(namespace_roles(docs)) == 2
    for role in namespace_roles(docs):
        expected = {(g, r, v) for (g, r), verbs in ALLOWED.items() for v in verbs}
        assert rules_of(role) == {
            (g, r, v) for g, r, v in expected if (g, r) not in CLUSTER_ONLY | {SIGNING_KEY}
        }


def test_cluster_scope_watches_all_namespaces(chart: helm.Chart) -> None:
    docs = render(chart, {})
    (role,) = [r for r in operator_roles(docs) if r["kind"] == "ClusterRole"]
    (binding,) = of_kind(docs, "ClusterRoleBinding")
    assert [r["metadata"]["name"] for r in of_kind(docs, "Role")] == ["tradeoff-signing-key"]
    assert not namespace_roles(docs)
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "tradeoff", "namespace": NAMESPACE}
    ]
    given = {(g, r, v) for _, g, r, v in grants(docs)}
    assert given == {(g, r, v) for (g, r), verbs in ALLOWED.items() for v in verbs} - {
        ("kopf.dev", "kopfpeerings", v) for v in ("get", "list", "watch", "patch")
    }
    args = container(docs)["args"]
    assert "--all-namespaces" in args and not any(a.startswith("--namespace=") for a in args)
    (peering,) = of_kind(docs, "ClusterKopfPeering")
    assert peering["metadata"]["name"] == "tradeoff" and "--peering=tradeoff" in args


def test_namespaced_scope_has_a_role_per_watched_namespace(chart: helm.Chart) -> None:
    docs = render(chart, TOGGLES["namespaced"])
    roles = namespace_roles(docs)
    bindings = [b for b in of_kind(docs, "RoleBinding") if b["roleRef"]["name"] == "tradeoff"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["ml", "research"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["ml", "research"]
    for binding in bindings:
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "tradeoff",
        }
    # Cluster-wide: only reading nodes.
    (cluster_role,) = [r for r in operator_roles(docs) if r["kind"] == "ClusterRole"]
    assert cluster_role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}]
    assert len(of_kind(docs, "ClusterRoleBinding")) == 1
    args = container(docs)["args"]
    assert "--namespace=ml" in args and "--namespace=research" in args
    assert "--all-namespaces" not in args
    peerings = of_kind(docs, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == ["ml", "research"]
    assert not of_kind(docs, "ClusterKopfPeering")
    assert ("Role", "kopf.dev", "kopfpeerings", "patch") in grants(docs)


def test_cluster_scope_can_watch_some_namespaces(chart: helm.Chart) -> None:
    docs = render(chart, TOGGLES["cluster-some-namespaces"])
    assert [r["kind"] for r in operator_roles(docs)] == ["ClusterRole", "Role"]
    assert not namespace_roles(docs)  # the Role is the signing key's
    resources = {r for _, _, r, _ in grants(docs)}
    assert "kopfpeerings" in resources
    assert not resources & {"namespaces", "clusterkopfpeerings"}
    args = container(docs)["args"]
    assert "--namespace=ml" in args and "--all-namespaces" not in args
    (peering,) = of_kind(docs, "KopfPeering")
    assert peering["metadata"]["namespace"] == "ml"


def test_namespaced_scope_defaults_to_the_release_namespace(chart: helm.Chart) -> None:
    docs = render(chart, TOGGLES["namespaced-without-nodes"])
    (role,) = namespace_roles(docs)
    assert role["metadata"]["namespace"] == NAMESPACE
    assert f"--namespace={NAMESPACE}" in container(docs)["args"]
    assert not [r for r in operator_roles(docs) if r["kind"] == "ClusterRole"]
    assert not of_kind(docs, "ClusterRoleBinding")


@pytest.mark.parametrize("case", NAMESPACED)
def test_namespaced_scope_creates_pods_only_in_the_watched_namespaces(
    chart: helm.Chart, case: str
) -> None:
    docs = render(chart, TOGGLES[case])
    watched = set(TOGGLES[case].get("operator", {}).get("watchNamespaces", [NAMESPACE]))
    # No ClusterRole at all (the operator's or the users') lets anyone create pods, and
    # the operator's ClusterRole, if any, writes nothing.
    for role in of_kind(docs, "ClusterRole"):
        assert ("", "pods", "create") not in rules_of(role), role["metadata"]["name"]
    for kind, group, resource, verb in grants(docs):
        assert kind == "Role" or verb not in WRITES, (kind, group, resource, verb)
    creating = {
        r["metadata"]["namespace"]
        for r in operator_roles(docs)
        if ("", "pods", "create") in rules_of(r)
    }
    writing = {
        r["metadata"]["namespace"]
        for r in operator_roles(docs)
        if any(g == "tradeoff.dev" and v in WRITES for g, _, v in rules_of(r))
    }
    assert creating == writing == watched
    args = container(docs)["args"]
    assert {a.split("=", 1)[1] for a in args if a.startswith("--namespace=")} == watched
    # Each Role is bound to the operator's ServiceAccount in its own namespace.
    for binding in of_kind(docs, "RoleBinding"):
        assert binding["metadata"]["namespace"] in watched | {NAMESPACE}
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "tradeoff", "namespace": NAMESPACE}
        ]


@pytest.mark.parametrize("case", ["defaults", "namespaced"])
def test_the_signing_key_role_reads_one_secret_in_the_release_namespace(
    chart: helm.Chart, case: str
) -> None:
    docs = render(chart, TOGGLES[case])
    (role,) = [r for r in of_kind(docs, "Role") if r["metadata"]["name"] == "tradeoff-signing-key"]
    assert role["metadata"]["namespace"] == NAMESPACE
    assert rules_of(role) == {("", "secrets", "create"), ("", "secrets", "get")}
    (get,) = [rule for rule in role["rules"] if rule["verbs"] == ["get"]]
    assert get["resourceNames"] == ["tradeoff-signing-key"]
    assert role in operator_roles(docs)
    renamed = render(chart, {"signingKeySecret": "team-key"})
    names = [r.get("resourceNames") for role in of_kind(renamed, "Role") for r in role["rules"]]
    assert ["team-key"] in names
    # The operator is told the same name (it creates the Secret on first start).
    (deployment,) = of_kind(renamed, "Deployment")
    env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TRADEOFF_SIGNING_KEY_SECRET"]["value"] == "team-key"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"


def test_user_roles_aggregate_into_the_default_roles(chart: helm.Chart) -> None:
    docs = render(chart, {})
    roles = {r["metadata"]["name"]: r for r in user_roles(docs)}
    assert set(roles) == {"tradeoff-edit", "tradeoff-view"}
    aggregate = "rbac.authorization.k8s.io/aggregate-to-"
    labels = {
        n: {
            k for k, v in r["metadata"]["labels"].items() if k.startswith(aggregate) and v == "true"
        }
        for n, r in roles.items()
    }
    assert labels == {
        "tradeoff-edit": {aggregate + "edit", aggregate + "admin"},
        "tradeoff-view": {aggregate + "view"},
    }
    read = {"get", "list", "watch"}
    assert rules_of(roles["tradeoff-edit"]) == {
        ("tradeoff.dev", "studies", v) for v in read | {"create", "update", "patch", "delete"}
    } | {("tradeoff.dev", "trials", v) for v in read}  # users never write Trials
    assert rules_of(roles["tradeoff-view"]) == {
        ("tradeoff.dev", r, v) for r in ("studies", "trials") for v in read
    }
    assert not [r for r in roles.values() if r in operator_roles(docs)]  # bound by aggregation
    named = render(chart, {"fullnameOverride": "ml-tuner"})
    assert {r["metadata"]["name"] for r in user_roles(named)} == {"ml-tuner-edit", "ml-tuner-view"}
    assert not user_roles(render(chart, TOGGLES["user-roles-off"]))
    assert not user_roles(render(chart, TOGGLES["rbac-off"]))


def test_the_network_policy_admits_only_the_monitoring_namespace_to_metrics(
    chart: helm.Chart,
) -> None:
    docs = render(chart, {})
    (policy,) = of_kind(docs, "NetworkPolicy")
    assert policy["metadata"]["namespace"] == NAMESPACE
    spec = policy["spec"]
    assert spec["podSelector"] == {
        "matchLabels": deployment(docs)["spec"]["selector"]["matchLabels"]
    }
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ],
            "ports": [{"port": "metrics", "protocol": "TCP"}],
        }
    ]
    assert "metrics" in {p["name"] for p in container(docs)["ports"]}  # the port it names
    custom = of_kind(render(chart, TOGGLES["network-policy-custom"]), "NetworkPolicy")
    (first, extra) = custom[0]["spec"]["ingress"]
    assert first["from"] == [  # one element: that namespace AND those pods
        {
            "namespaceSelector": {"matchLabels": {"team": "observability"}},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        }
    ]
    assert extra == TOGGLES["network-policy-custom"]["networkPolicy"]["extraIngress"][0]
    assert not of_kind(render(chart, TOGGLES["network-policy-off"]), "NetworkPolicy")
    named = render(chart, {"networkPolicy": {"monitoringNamespace": "observability"}})
    (rule,) = of_kind(named, "NetworkPolicy")[0]["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}
    ]


def test_toggles(chart: helm.Chart) -> None:
    kinds = {case: [d["kind"] for d in render(chart, v)] for case, v in TOGGLES.items()}
    assert (
        "ServiceMonitor" not in kinds["defaults"] and "ServiceMonitor" in kinds["service-monitor"]
    )
    rbac = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}
    assert not rbac & set(kinds["rbac-off"])
    assert (
        "ServiceAccount" in kinds["defaults"]
        and "ServiceAccount" not in kinds["service-account-off"]
    )
    docs = render(chart, TOGGLES["service-account-off"])
    assert deployment(docs)["spec"]["template"]["spec"]["serviceAccountName"] == "existing"
    assert {s["name"] for b in of_kind(docs, "ClusterRoleBinding") for s in b["subjects"]} == {
        "existing"
    }
    no_nodes = render(chart, TOGGLES["node-access-off"])
    assert not {r for _, _, r, _ in grants(no_nodes)} & {"nodes"}
    off = render(chart, TOGGLES["peering-off"])
    assert "--standalone" in container(off)["args"]
    assert not of_kind(off, "ClusterKopfPeering") + of_kind(off, "KopfPeering")
    assert not {r for _, _, r, _ in grants(off)} & {"kopfpeerings", "clusterkopfpeerings"}


def container(docs: list[Manifest]) -> Manifest:
    (found,) = deployment(docs)["spec"]["template"]["spec"]["containers"]
    assert isinstance(found, dict)
    return found


@pytest.mark.parametrize("case", list(TOGGLES))
def test_the_operator_pod_meets_the_restricted_profile(chart: helm.Chart, case: str) -> None:
    pod = deployment(render(chart, TOGGLES[case]))["spec"]["template"]["spec"]
    ctx = pod["securityContext"]
    assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] == 10001
    assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    for volume in pod["volumes"]:  # restricted: only these volume types
        assert set(volume) - {"name"} <= {"configMap", "emptyDir", "secret", "projected"}
    for c in pod["containers"] + pod.get("initContainers", []):
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["privileged"] is False
        assert sc["runAsNonRoot"] is True
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert "runAsUser" not in sc or sc["runAsUser"] != 0
        assert not any("hostPort" in p for p in c["ports"])
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]


def test_the_operator_container(chart: helm.Chart) -> None:
    docs = render(chart, {})
    c = container(docs)
    assert c["image"] == "tradeoff:0.1.0"
    assert c["command"] == ["tradeoff"] and c["args"][0] == "operator"
    for flag in (
        "--metrics-port=8080",
        "--health-port=8081",
        "--metrics-address=0.0.0.0",
        "--health-address=0.0.0.0",
        "--log-format=json",
    ):
        assert flag in c["args"]
    assert "--economics-config=/etc/tradeoff/economics.json" in c["args"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"metrics": 8080, "health": 8081}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
    ipv6 = container(render(chart, TOGGLES["ipv6-endpoints"]))["args"]
    assert "--metrics-address=::" in ipv6 and "--health-address=::" in ipv6
    (service,) = of_kind(docs, "Service")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"] == deployment(docs)["spec"]["selector"]["matchLabels"]
    tagged = container(render(chart, {"image": {"repository": "r.example/tradeoff", "tag": "dev"}}))
    assert tagged["image"] == "r.example/tradeoff:dev"


def test_economics_config_is_mounted_and_the_operator_reads_it(chart: helm.Chart) -> None:
    docs = render(chart, {})
    (config,) = [
        d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-economics")
    ]
    data = json.loads(config["data"]["economics.json"])
    assert data == {k: v for k, v in chart.values["economics"].items() if k != "prometheus"}
    read = economics_from_json(data, "economics.json")
    default = EconomicsConfig.default()
    assert (read.cpu_hour, read.memory_gib_hour, read.gpu_hour) == (0.031611, 0.004237, 0.95)
    assert (read.grams_per_kwh, read.pue, read.spot_discount) == (475, 1.135, default.spot_discount)
    assert dict(read.region_intensity) == dict(REGION_GRAMS_PER_KWH) == data["regions"]
    pod = deployment(docs)["spec"]["template"]["spec"]
    (volume,) = [v for v in pod["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == config["metadata"]["name"]
    (mount,) = [m for m in container(docs)["volumeMounts"] if m["name"] == volume["name"]]
    assert mount["mountPath"] == "/etc/tradeoff"
    # A changed price rolls the operator (the pod template's checksum changes).
    cheaper = render(chart, {"economics": {"pricing": {"cpuHour": 0.01}}})
    annotation = "checksum/economics"
    before = deployment(docs)["spec"]["template"]["metadata"]["annotations"][annotation]
    after = deployment(cheaper)["spec"]["template"]["metadata"]["annotations"][annotation]
    assert before != after


def test_the_prometheus_url_reaches_the_operator(chart: helm.Chart) -> None:
    assert chart.values["economics"]["prometheus"] == {"url": ""}
    assert not any(a.startswith("--prometheus-url") for a in container(render(chart, {}))["args"])
    url = "http://prometheus-operated.monitoring:9090"
    docs = render(chart, {"economics": {"prometheus": {"url": url}}})
    args = build_parser({"operator": command}).parse_args(container(docs)["args"])
    settings = settings_from(namespaces=["a"], prometheus_url=args.prometheus_url, env={})
    assert settings.prometheus_url == url


def operator_trial_policy(docs: list[Manifest]) -> tuple[str, tuple[str, ...]]:
    """The trial policy the operator takes from its rendered arguments."""
    args = build_parser({"operator": command}).parse_args(container(docs)["args"])
    policy = trial_policy_from(args.trial_policy, args.trial_service_account, {})
    return policy.level, policy.service_accounts


def test_the_trial_policy_reaches_the_operator(chart: helm.Chart) -> None:
    assert chart.values["trialPolicy"] == {
        "level": "restricted",
        "serviceAccounts": ["default"],
        "workloads": [],
    }
    docs = render(chart, {})
    assert operator_trial_policy(docs) == ("restricted", ("default",))
    assert "--trial-policy=restricted" in container(docs)["args"]
    chosen = {"trialPolicy": {"level": "baseline", "serviceAccounts": ["default", "trainer"]}}
    assert operator_trial_policy(render(chart, chosen)) == ("baseline", ("default", "trainer"))
    privileged = {"trialPolicy": {"level": "privileged", "serviceAccounts": ["runner"]}}
    assert operator_trial_policy(render(chart, privileged)) == ("privileged", ("runner",))


def test_the_artifact_claim_is_off_by_default_and_reaches_the_operator(chart: helm.Chart) -> None:
    def claim_setting(docs: list[Manifest]) -> str | None:
        env = {e["name"]: e.get("value", "") for e in container(docs).get("env", [])}
        return settings_from(namespaces=["a"], env=env).artifacts_claim

    plain = render(chart, {})
    assert of_kind(plain, "PersistentVolumeClaim") == [] and claim_setting(plain) is None
    docs = render(chart, TOGGLES["artifacts-claim"])
    (claim,) = of_kind(docs, "PersistentVolumeClaim")
    assert claim["metadata"]["name"] == f"{RELEASE}-artifacts" == claim_setting(docs)
    assert claim["metadata"]["namespace"] == NAMESPACE
    assert claim["spec"] == {
        "accessModes": ["ReadWriteMany"],
        "storageClassName": "nfs",
        "resources": {"requests": {"storage": "10Gi"}},
    }
    existing = {"enabled": True, "create": False, "claimName": "team-store"}
    docs = render(chart, {"artifacts": {"persistentVolumeClaim": existing}})
    assert of_kind(docs, "PersistentVolumeClaim") == [] and claim_setting(docs) == "team-store"


def test_the_artifact_bucket_reaches_the_operators_settings(chart: helm.Chart) -> None:
    docs = render(chart, TOGGLES["artifacts-s3"])
    env = container(docs).get("env", [])
    assert all("valueFrom" not in e for e in env if "ARTIFACTS" in e["name"])  # names only
    settings = settings_from(namespaces=["a"], env={e["name"]: e.get("value", "") for e in env})
    assert settings.artifacts_claim is None and of_kind(docs, "PersistentVolumeClaim") == []
    assert settings.artifact_store == ArtifactBucket(
        bucket="ml-artifacts",
        prefix="teams/vision/",
        endpoint="http://minio.minio:9000",
        region="eu-north-1",
        credentials_secret="artifact-keys",
    )
    # Only the bucket's name is needed: AWS S3, the chart's prefix, the pods' own identity.
    minimal = render(chart, {"artifacts": {"s3": {"enabled": True, "bucket": "ml-artifacts"}}})
    env = {e["name"]: e.get("value", "") for e in container(minimal).get("env", [])}
    assert settings_from(namespaces=["a"], env=env).artifact_store == ArtifactBucket(
        "ml-artifacts", "tradeoff/"
    )
    assert settings_from(namespaces=["a"], env={}).artifact_store is None


@pytest.mark.parametrize(
    ("artifacts", "message"),
    [
        (
            {"s3": {"enabled": True, "bucket": "b-1"}, "persistentVolumeClaim": {"enabled": True}},
            "artifacts: enable persistentVolumeClaim or s3, not both",
        ),
        ({"s3": {"enabled": True}}, "artifacts.s3.bucket: name the bucket"),
    ],
)
def test_artifacts_go_to_one_store_with_a_named_bucket(
    chart: helm.Chart, artifacts: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm.HelmRenderError, match=re.escape(message)):
        render(chart, {"artifacts": artifacts})


def test_dashboard_configmap(chart: helm.Chart) -> None:
    docs = render(chart, {"dashboard": {"annotations": {"grafana_folder": "Tradeoff"}}})
    (board,) = [
        d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-dashboard")
    ]
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert board["metadata"]["annotations"] == {"grafana_folder": "Tradeoff"}
    shipped = (CHART / "dashboards" / "tradeoff.json").read_text()
    assert json.loads(board["data"]["tradeoff.json"]) == json.loads(shipped)
    off = render(chart, TOGGLES["dashboard-off"])
    assert not [
        d for d in of_kind(off, "ConfigMap") if d["metadata"]["name"].endswith("-dashboard")
    ]


@pytest.mark.parametrize(
    ("values", "where"),
    [
        ({"rbac": {"scope": "everything"}}, "/rbac/scope"),
        ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
        ({"operator": {"metricsPort": "8080"}}, "/operator/metricsPort"),
        ({"economics": {"carbon": {"pue": 0.9}}}, "/economics/carbon/pue"),
        ({"economics": {"regions": {"mars-1": -1}}}, "/economics/regions/mars-1"),
        ({"securityContext": {"runAsUser": 0}}, "/securityContext/runAsUser"),
        ({"serviceMonitor": {"enable": True}}, "/serviceMonitor"),
        ({"trialPolicy": {"level": "open"}}, "/trialPolicy/level"),
        ({"trialPolicy": {"serviceAccounts": []}}, "/trialPolicy/serviceAccounts"),
        ({"trialPolicy": {"serviceAccounts": ["Admin_SA"]}}, "/trialPolicy/serviceAccounts/0"),
        ({"operator": {"metricsAddress": "everywhere"}}, "/operator/metricsAddress"),
        ({"operator": {"healthAddress": "10.0.0"}}, "/operator/healthAddress"),
        ({"networkPolicy": {"monitoringNamespace": ""}}, "/networkPolicy/monitoringNamespace"),
        ({"admissionPolicy": {"enabled": "yes"}}, "/admissionPolicy/enabled"),
        ({"signingKeySecret": "Signing_Key"}, "/signingKeySecret"),
        (
            {"artifacts": {"persistentVolumeClaim": {"claimName": "Bad_Claim"}}},
            "/artifacts/persistentVolumeClaim/claimName",
        ),
        ({"artifacts": {"s3": {"bucket": "My_Bucket"}}}, "/artifacts/s3/bucket"),
        ({"artifacts": {"s3": {"endpoint": "minio:9000"}}}, "/artifacts/s3/endpoint"),
        ({"artifacts": {"s3": {"credentialsSecret": "Keys"}}}, "/artifacts/s3/credentialsSecret"),
        ({"artifacts": {"s3": {"prefix": "a b"}}}, "/artifacts/s3/prefix"),
        ({"economics": {"prometheus": {"url": "prometheus:9090"}}}, "/economics/prometheus/url"),
        ({"economics": {"prometheus": {"address": "http://p"}}}, "/economics/prometheus"),
    ],
)
def test_the_values_schema_rejects_bad_values(
    chart: helm.Chart, values: dict[str, Any], where: str
) -> None:
    with pytest.raises(helm.HelmValuesError, match=re.escape(where)):
        chart.render(values, name=RELEASE, namespace=NAMESPACE)


DATA_BLOCKS = ("regions", "instancePrices", "resources", "zones")
"""Values whose keys are data (names, labels), not lower camel case settings."""


def test_values_are_commented_lower_camel_case_and_match_the_economics_defaults(
    chart: helm.Chart,
) -> None:
    lines = (CHART / "values.yaml").read_text().splitlines()
    data_block: int | None = None  # indent of a map holding data (regions, a ResourceRequirements)
    previous = ""
    for number, line in enumerate(lines, 1):
        match = re.match(r"^(\s*)([^\s#:][^:]*):(.*)$", line)
        if match:
            indent, key, rest = len(match[1]), match[2], match[3].strip()
            if data_block is not None and indent > data_block:
                continue
            data_block = None
            assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", key), f"values.yaml:{number}: {key}"
            if rest and not rest.startswith("#"):
                assert previous.startswith("#"), f"values.yaml:{number}: {key} has no comment"
            if key in DATA_BLOCKS:
                data_block = indent
        if line.strip():
            previous = line.strip()
    economics = chart.values["economics"]
    assert economics["pricing"] == {"cpuHour": 0.031611, "memoryGiBHour": 0.004237, "gpuHour": 0.95}
    assert economics["carbon"] == {"gramsPerKWh": 475, "pue": 1.135}
    assert economics["regions"] == dict(REGION_GRAMS_PER_KWH)


def test_helm_lint_is_clean() -> None:
    report = helm.lint(CHART, strict=True, namespace=NAMESPACE)
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"] and not problems, report


def test_notes_say_what_to_do_next(chart: helm.Chart) -> None:
    notes = chart.render({}, name=RELEASE, namespace=NAMESPACE)["tradeoff/templates/NOTES.txt"]
    for expected in ("kubectl apply", "get studies -w", "port-forward", "Grafana"):
        assert expected in notes
    assert "rbac.scope=cluster" in notes and "--set rbac.scope=namespaced" in notes
    namespaced = chart.render(TOGGLES["namespaced"], name=RELEASE, namespace=NAMESPACE)
    text = namespaced["tradeoff/templates/NOTES.txt"]
    assert "rbac.scope=namespaced" in text and "pods only in: ml, research" in text


def value_paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of the values, not descending into maps of data."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and key not in DATA_BLOCKS:
            yield from value_paths(value, path + ".")
        else:
            yield path


def test_every_value_is_in_the_reference(chart: helm.Chart) -> None:
    text = (ROOT / "docs" / "helm-values.md").read_text()
    reference = text.split("## Reference", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([\w.]+)` \|", reference, re.MULTILINE))
    assert set(value_paths(chart.values)) == documented


def test_carbon_intensity_service_settings_reach_the_operator(chart: helm.Chart) -> None:
    intensity = {
        "provider": "electricitymaps",
        "url": "https://api.electricitymap.org",
        "zones": {"eu-north-1": "SE-SE3"},
        "tokenSecret": {"name": "electricitymaps"},
    }
    docs = render(chart, {"economics": {"intensity": intensity}})
    (config,) = [
        d for d in of_kind(docs, "ConfigMap") if d["metadata"]["name"].endswith("-economics")
    ]
    data = json.loads(config["data"]["economics.json"])
    assert data["intensity"]["tokenSecret"] == {"name": "electricitymaps", "key": "token"}
    env = {"TRADEOFF_INTENSITY_TOKEN": "abc"}
    read = intensity_from_json(data["intensity"], "economics.json", env)
    assert read is not None and read.provider == "electricitymaps" and read.token == "abc"
    assert read.zone("eu-north-1") == "SE-SE3" and read.timeout == 5
    (variable,) = [e for e in container(docs)["env"] if e["name"] == "TRADEOFF_INTENSITY_TOKEN"]
    assert variable["valueFrom"]["secretKeyRef"] == {"name": "electricitymaps", "key": "token"}
    # off by default: no service, no token variable
    default = render(chart, {})
    maps = [
        d for d in of_kind(default, "ConfigMap") if d["metadata"]["name"].endswith("-economics")
    ]
    default_data = json.loads(maps[0]["data"]["economics.json"])
    assert intensity_from_json(default_data["intensity"], "economics.json", {}) is None
    assert "TRADEOFF_INTENSITY_TOKEN" not in {e["name"] for e in container(default)["env"]}
    with pytest.raises(helm.HelmValuesError, match="provider"):
        chart.render(
            {"economics": {"intensity": {"provider": "watttime"}}},
            name=RELEASE,
            namespace=NAMESPACE,
        )


@pytest.mark.parametrize(("value", "deletes"), [(None, False), (False, False), (True, True)])
def test_ended_pods_are_deleted_only_if_asked(
    chart: helm.Chart, value: bool | None, deletes: bool
) -> None:
    values = {} if value is None else {"operator": {"deleteEndedPods": value}}
    env = deployment(render(chart, values))["spec"]["template"]["spec"]["containers"][0]["env"]
    given = {e["name"]: e.get("value", "") for e in env}
    assert settings_from(namespaces=["a"], env=given).delete_ended_pods is deletes


def test_a_bad_delete_ended_pods_setting_is_named() -> None:
    with pytest.raises(SettingsError, match="TRADEOFF_DELETE_ENDED_PODS: expected true or false"):
        settings_from(namespaces=["a"], env={"TRADEOFF_DELETE_ENDED_PODS": "sometimes"})

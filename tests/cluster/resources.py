"""Resource types the emulator serves: the built-ins and those defined by CRDs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import cel
from .structural import structural_causes

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    """One served resource of one group version (`widgets` in `example.dev/v1`)."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False
    log_subresource: bool = False
    schema: dict[str, Any] | None = None
    printer_columns: tuple[dict[str, Any], ...] = ()
    custom: bool = False
    list_kind: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def storage_key(self) -> tuple[str, str]:
        """Objects are stored once per group and plural, whatever the version."""
        return (self.group, self.plural)

    @property
    def group_version(self) -> str:
        return self.api_version

    def discovery(self) -> list[dict[str, Any]]:
        """The APIResourceList entries of this resource and its subresources."""
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(ALL_VERBS),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        if self.status_subresource:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        if self.log_subresource:
            entries.append(
                {
                    "name": f"{self.plural}/log",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get"],
                }
            )
        return entries


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool,
    short_names: tuple[str, ...] = (),
    *,
    status: bool = False,
    log: bool = False,
    categories: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=short_names,
        categories=categories,
        status_subresource=status,
        log_subresource=log,
        list_kind=f"{kind}List",
    )


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    _builtin("", "v1", "namespaces", "Namespace", False, ("ns",), status=True),
    _builtin("", "v1", "pods", "Pod", True, ("po",), status=True, log=True, categories=("all",)),
    _builtin("", "v1", "events", "Event", True, ("ev",)),
    _builtin("", "v1", "nodes", "Node", False, ("no",), status=True),
    _builtin("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    _builtin("", "v1", "secrets", "Secret", True),
    _builtin("", "v1", "services", "Service", True, ("svc",), status=True, categories=("all",)),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    _builtin("events.k8s.io", "v1", "events", "Event", True, ("ev",)),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease", True),
    _builtin("batch", "v1", "jobs", "Job", True, status=True, categories=("all",)),
    _builtin(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        status=True,
    ),
)

CRD_GROUP = "apiextensions.k8s.io"
CRD_PLURAL = "customresourcedefinitions"


def types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types a CRD object serves, one per served version."""
    spec = crd["spec"]
    names = spec["names"]
    kind = names["kind"]
    types = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        types.append(
            ResourceType(
                group=spec["group"],
                version=version["name"],
                plural=names["plural"],
                singular=names.get("singular") or kind.lower(),
                kind=kind,
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                status_subresource="status" in (version.get("subresources") or {}),
                schema=schema,
                printer_columns=tuple(version.get("additionalPrinterColumns") or ()),
                custom=True,
                list_kind=names.get("listKind") or f"{kind}List",
            )
        )
    return types


def check_crd(crd: dict[str, Any]) -> list[dict[str, str]]:
    """Field errors of a CRD object that would stop the emulator serving it."""
    causes: list[dict[str, str]] = []

    def need(cond: bool, path: str, message: str = "Required value") -> None:
        if not cond:
            causes.append({"reason": "FieldValueRequired", "message": message, "field": path})

    spec = crd.get("spec")
    need(isinstance(spec, dict), "spec")
    if not isinstance(spec, dict):
        return causes
    names = spec.get("names") or {}
    need(bool(spec.get("group")), "spec.group")
    need(bool(names.get("plural")), "spec.names.plural")
    need(bool(names.get("kind")), "spec.names.kind")
    need(
        spec.get("scope") in ("Namespaced", "Cluster"),
        "spec.scope",
        "must be Namespaced or Cluster",
    )
    versions = spec.get("versions")
    need(
        isinstance(versions, list) and len(versions) > 0,
        "spec.versions",
        "must have at least one version",
    )
    if isinstance(versions, list):
        causes += structural_causes(crd)
        for index, version in enumerate(versions):
            schema = ((version or {}).get("schema") or {}).get("openAPIV3Schema")
            if isinstance(schema, dict):
                path = f"spec.versions[{index}].schema.openAPIV3Schema"
                causes += cel.crd_rule_causes(schema, path)
    expected = f"{names.get('plural')}.{spec.get('group')}"
    name = (crd.get("metadata") or {}).get("name")
    if names.get("plural") and spec.get("group") and name != expected:
        causes.append(
            {
                "reason": "FieldValueInvalid",
                "message": f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group',
                "field": "metadata.name",
            }
        )
    return causes


def crd_status(crd: dict[str, Any], timestamp: str) -> dict[str, Any]:
    """The status the API server gives an accepted CRD: Established, names accepted."""
    spec = crd["spec"]
    storage = [v["name"] for v in spec["versions"] if v.get("storage")]
    conditions = [
        ("NamesAccepted", "NoConflicts", "no conflicts found"),
        ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ]
    return {
        "acceptedNames": dict(spec["names"]),
        "storedVersions": storage or [spec["versions"][0]["name"]],
        "conditions": [
            {
                "type": kind,
                "status": "True",
                "reason": reason,
                "message": message,
                "lastTransitionTime": timestamp,
            }
            for kind, reason, message in conditions
        ],
    }

"""OpenAPI v3 documents, enough for kubectl to send `fieldValidation` and to explain CRDs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .resources import ResourceType

_QUERY = ("fieldValidation", "fieldManager", "dryRun", "pretty")


def gv_path(rt: ResourceType) -> str:
    return f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"


def schema_name(rt: ResourceType) -> str:
    """`dev.example.v1.Widget`: the group reversed, as the API server names definitions."""
    reverse = ".".join(reversed(rt.group.split("."))) if rt.group else "io.k8s.api.core"
    return f"{reverse}.{rt.version}.{rt.kind}"


def _operation(rt: ResourceType, action: str, body_types: tuple[str, ...] = ()) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{action}{rt.kind}",
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "string"}} for name in _QUERY
        ],
        "responses": {"200": {"description": "OK"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {
            "group": rt.group,
            "version": rt.version,
            "kind": rt.kind,
        },
    }
    if body_types:
        ref = {"$ref": f"#/components/schemas/{schema_name(rt)}"}
        operation["requestBody"] = {"content": {t: {"schema": ref} for t in body_types}}
    return operation


def document(types: list[ResourceType]) -> dict[str, Any]:
    """The OpenAPI v3 document of one group version."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for rt in types:
        prefix = "/" + gv_path(rt) + ("/namespaces/{namespace}" if rt.namespaced else "")
        collection, item = f"{prefix}/{rt.plural}", f"{prefix}/{rt.plural}/{{name}}"
        json_body = ("application/json",)
        patches = (
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/apply-patch+yaml",
        )
        paths[collection] = {
            "get": _operation(rt, "list"),
            "post": _operation(rt, "post", json_body),
        }
        paths[item] = {
            "get": _operation(rt, "get"),
            "put": _operation(rt, "put", json_body),
            "patch": _operation(rt, "patch", patches),
            "delete": _operation(rt, "delete"),
        }
        definition = dict(
            rt.schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        )
        definition["x-kubernetes-group-version-kind"] = [
            {"group": rt.group, "version": rt.version, "kind": rt.kind}
        ]
        schemas[schema_name(rt)] = definition
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def by_group_version(types: list[ResourceType]) -> dict[str, list[ResourceType]]:
    grouped: dict[str, list[ResourceType]] = {}
    for rt in types:
        grouped.setdefault(gv_path(rt), []).append(rt)
    return grouped


def index(types: list[ResourceType]) -> dict[str, Any]:
    """`/openapi/v3`: each group version with a content-hashed URL (kubectl caches by hash)."""
    paths = {}
    for path, members in sorted(by_group_version(types).items()):
        digest = hashlib.sha256(json.dumps(document(members), sort_keys=True).encode()).hexdigest()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest[:32].upper()}"}
    return {"paths": paths}

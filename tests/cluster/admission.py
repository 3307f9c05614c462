"""What the API server checks and fills in before it stores an object."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from . import cel
from . import schema as schemas
from .errors import ApiError, bad_request, invalid
from .jsondata import clone
from .resources import ResourceType

Obj = dict[str, Any]

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_SUBDOMAIN_TEXT = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_TEXT = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def now() -> str:
    """The current time as the API server writes timestamps (RFC 3339, seconds, UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generated_name(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_SUFFIX_CHARS) for _ in range(5))


def _cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict[str, str]:
    return {"reason": reason, "message": message, "field": field}


def metadata_causes(rt: ResourceType, meta: dict[str, Any]) -> list[dict[str, str]]:
    """Errors in the name, labels and annotations, as the real server reports them."""
    causes = []
    name = meta.get("name", "")
    if not name:
        causes.append(
            _cause(
                "metadata.name",
                "Required value: name or generateName is required",
                "FieldValueRequired",
            )
        )
    elif rt.plural == "namespaces" and not rt.group:
        if len(name) > 63 or not _LABEL.match(name):
            causes.append(_cause("metadata.name", f'Invalid value: "{name}": {_LABEL_TEXT}'))
    elif len(name) > 253 or not _SUBDOMAIN.match(name):
        causes.append(_cause("metadata.name", f'Invalid value: "{name}": {_SUBDOMAIN_TEXT}'))
    for key, value in (meta.get("labels") or {}).items():
        if not isinstance(value, str):
            causes.append(_cause("metadata.labels", f"Invalid value: {value!r}: must be a string"))
        elif len(value) > 63:
            causes.append(
                _cause(
                    "metadata.labels",
                    f'Invalid value: "{value}": must be no more than 63 characters',
                )
            )
        elif not _LABEL_VALUE.match(value):
            text = (
                "a valid label must be an empty string or consist of alphanumeric characters, "
                "'-', '_' or '.', and must start and end with an alphanumeric character"
            )
            causes.append(_cause("metadata.labels", f'Invalid value: "{value}": {text}'))
        if len(key.rsplit("/", 1)[-1]) > 63:
            causes.append(
                _cause(
                    "metadata.labels",
                    f'Invalid value: "{key}": name part must be no more than 63 characters',
                )
            )
    for key, value in (meta.get("annotations") or {}).items():
        if not isinstance(value, str):
            causes.append(_cause(f"metadata.annotations[{key}]", "Invalid value: must be a string"))
    return causes


def check_object(
    rt: ResourceType,
    obj: dict[str, Any],
    field_validation: str,
    warnings: list[str] | None,
) -> None:
    """Prune, default and validate `obj` in place; raise 400/422 like the API server."""
    meta = obj.get("metadata") or {}
    causes = metadata_causes(rt, meta)
    if rt.schema is not None:
        unknown: list[str] = []
        schemas.prune(obj, rt.schema, "", unknown)
        if unknown and field_validation == "Strict":
            fields = ", ".join(f'unknown field "{path}"' for path in unknown)
            raise ApiError(
                400,
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '
                f"strict decoding error: {fields}",
            )
        if unknown and field_validation != "Ignore" and warnings is not None:
            warnings.extend(f'unknown field "{path}"' for path in unknown)
        schemas.apply_defaults(obj, rt.schema)
        causes += schemas.validate(obj, rt.schema, "")
    if causes:
        raise invalid(rt.kind, rt.group, meta.get("name", ""), causes)


def check_rules(rt: ResourceType, obj: Obj, old: Obj | None) -> None:
    """The schema's CEL rules (`x-kubernetes-validations`): on create, and on updates of
    the main resource, where transition rules compare with `old` (status writes do not
    change what these rules read, so they are not run again for them)."""
    if rt.schema is None:
        return
    if old is None:
        causes = cel.rule_causes(rt.schema, obj)
    else:
        causes = cel.rule_causes(rt.schema, obj, old)
    if causes:
        raise invalid(rt.kind, rt.group, (obj.get("metadata") or {}).get("name", ""), causes)


def spec_changed(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether a write changes what `metadata.generation` counts (not metadata, not status)."""
    skip = {"metadata", "status"} if rt.status_subresource or not rt.custom else {"metadata"}
    keys = (set(old) | set(new)) - skip - {"apiVersion", "kind"}
    return any(old.get(key) != new.get(key) for key in keys)


_KEPT_METADATA = (
    "name", "namespace", "uid", "creationTimestamp", "generation",
    "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion",
)  # fmt: skip


def updated_object(rt: ResourceType, current: Obj, body: Obj, subresource: str) -> Obj:
    """The object an update would store: /status writes change only the status; writes to
    the main resource keep the status when it is a subresource; system metadata is kept."""
    if subresource == "status":
        new = {key: clone(value) for key, value in current.items() if key != "status"}
        if "status" in body:
            new["status"] = clone(body["status"])
    elif rt.status_subresource:
        new = {key: clone(value) for key, value in body.items() if key != "status"}
        if "status" in current:
            new["status"] = clone(current["status"])
    else:
        new = clone(body)
    meta = new.setdefault("metadata", {})
    old_meta = current["metadata"]
    if meta.get("name", old_meta["name"]) != old_meta["name"]:
        raise bad_request("the name of the object does not match the name on the URL")
    for kept in _KEPT_METADATA:
        if kept in old_meta:
            meta[kept] = old_meta[kept]
        else:
            meta.pop(kept, None)
    return new


def initial_status(rt: ResourceType, obj: Obj) -> None:
    """What a create does to the status: reset for CRs with a status subresource, filled in
    for namespaces and pods."""
    if rt.group == "" and rt.plural == "namespaces":
        obj["status"] = {"phase": "Active"}
    elif rt.group == "" and rt.plural == "pods":
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif rt.custom and rt.status_subresource:
        obj.pop("status", None)


_POD_SPEC_TEXT = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def _mutable_pod_spec(spec: Obj) -> Obj:
    """A pod spec without the fields an update may change (and without a first binding)."""
    rest = {k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations")}
    rest["containers"] = [
        {k: v for k, v in c.items() if k != "image"} for c in spec.get("containers") or ()
    ]
    return rest


def check_update(rt: ResourceType, current: Obj, new: Obj) -> None:
    """Rules on what an update may change: no new finalizers on an object being deleted,
    and a pod's spec is immutable apart from images, deadline and its first binding."""
    old_meta, meta = current["metadata"], new["metadata"]
    causes = []
    if old_meta.get("deletionTimestamp"):
        added = [
            f for f in meta.get("finalizers") or () if f not in (old_meta.get("finalizers") or ())
        ]
        if added:
            listed = ", ".join(f'"{f}"' for f in added)
            text = "no new finalizers can be added if the object is being deleted"
            message = f"Forbidden: {text}, found new finalizers []string{{{listed}}}"
            causes.append(_cause("metadata.finalizers", message, "FieldValueForbidden"))
    if rt.group == "" and rt.plural == "pods":
        old_spec, new_spec = dict(current.get("spec") or {}), dict(new.get("spec") or {})
        if not old_spec.get("nodeName") and new_spec.get("nodeName"):
            old_spec["nodeName"] = new_spec["nodeName"]
        if _mutable_pod_spec(old_spec) != _mutable_pod_spec(new_spec):
            causes.append(_cause("spec", f"Forbidden: {_POD_SPEC_TEXT}", "FieldValueForbidden"))
    if causes:
        raise invalid(rt.kind, rt.group, meta.get("name", ""), causes)

"""The API server's structural-schema rules for CRDs (the common ones), so a schema a real
cluster would refuse is refused here too, with the same field paths and wording."""

from __future__ import annotations

from typing import Any

Cause = dict[str, str]
_JUNCTORS = ("allOf", "anyOf", "oneOf")
_FORBIDDEN_IN_JUNCTORS = ("type", "default", "additionalProperties", "nullable", "description")


def _required(path: str, text: str) -> Cause:
    return {"reason": "FieldValueRequired", "message": f"Required value: {text}", "field": path}


def _forbidden(path: str, text: str) -> Cause:
    return {"reason": "FieldValueForbidden", "message": f"Forbidden: {text}", "field": path}


def _junctor_causes(schema: dict[str, Any], path: str) -> list[Cause]:
    """Inside allOf/anyOf/oneOf/not, types, defaults and the like make a schema non-structural."""
    causes = []
    for key in _FORBIDDEN_IN_JUNCTORS:
        if key in schema:
            causes.append(_forbidden(f"{path}.{key}", "must be empty to be structural"))
    for name, sub in (schema.get("properties") or {}).items():
        causes += _junctor_causes(sub, f"{path}.properties[{name}]")
    if isinstance(schema.get("items"), dict):
        causes += _junctor_causes(schema["items"], f"{path}.items")
    for junctor in _JUNCTORS:
        for index, sub in enumerate(schema.get(junctor) or ()):
            causes += _junctor_causes(sub, f"{path}.{junctor}[{index}]")
    return causes


def _node_causes(schema: dict[str, Any], path: str, where: str) -> list[Cause]:
    causes: list[Cause] = []
    free = schema.get("x-kubernetes-int-or-string") or schema.get(
        "x-kubernetes-preserve-unknown-fields"
    )
    if not schema.get("type") and not free:
        causes.append(_required(f"{path}.type", f"must not be empty {where}"))
    if "properties" in schema and isinstance(schema.get("additionalProperties"), dict):
        causes.append(
            _forbidden(
                f"{path}.additionalProperties",
                "additionalProperties and properties are mutual exclusive",
            )
        )
    for name, sub in (schema.get("properties") or {}).items():
        causes += _node_causes(sub, f"{path}.properties[{name}]", "for specified object fields")
    if isinstance(schema.get("items"), dict):
        causes += _node_causes(schema["items"], f"{path}.items", "for specified array items")
    additional = schema.get("additionalProperties")
    if isinstance(additional, dict):
        causes += _node_causes(
            additional, f"{path}.additionalProperties", "for specified additionalProperties"
        )
    for junctor in _JUNCTORS:
        for index, sub in enumerate(schema.get(junctor) or ()):
            causes += _junctor_causes(sub, f"{path}.{junctor}[{index}]")
    if isinstance(schema.get("not"), dict):
        causes += _junctor_causes(schema["not"], f"{path}.not")
    return causes


def structural_causes(crd: dict[str, Any]) -> list[Cause]:
    """Field errors that make the CRD's schemas non-structural (empty when all is well)."""
    causes: list[Cause] = []
    for index, version in enumerate(crd.get("spec", {}).get("versions") or ()):
        path = f"spec.versions[{index}].schema.openAPIV3Schema"
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if not isinstance(schema, dict):
            causes.append(_required(path, "schemas are required"))
            continue
        if schema.get("type") not in (None, "", "object"):
            message = f'Invalid value: "{schema["type"]}": must be object at the root'
            causes.append(
                {"reason": "FieldValueInvalid", "field": f"{path}.type", "message": message}
            )
        causes += _node_causes(schema, path, "at the root")
    return causes

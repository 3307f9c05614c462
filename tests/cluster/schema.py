"""CRD structural schemas: pruning, defaulting and validation, worded like the API server."""

from __future__ import annotations

import json
import re
from typing import Any

from .jsondata import clone

Cause = dict[str, str]

_ROOT_KEEP = ("apiVersion", "kind", "metadata")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FORMATS = {"date-time": _DATE_TIME, "date": _DATE}


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _go_value(value: Any) -> str:
    """How Go's `%#v`-ish formatting in field errors shows a value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _has_type(value: Any, expected: str) -> bool:
    actual = _type_name(value)
    if expected == "number":
        return actual in ("integer", "number")
    if expected == "integer":
        return actual == "integer" or (actual == "number" and float(value).is_integer())
    return actual == expected


def prune(value: Any, schema: dict[str, Any], path: str, unknown: list[str]) -> Any:
    """Drop fields the schema does not know (recording their paths in `unknown`)."""
    if isinstance(value, dict):
        preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
        embedded = schema.get("x-kubernetes-embedded-resource", False)
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        for key in list(value):
            sub_path = _join(path, key)
            if (not path or embedded) and key in _ROOT_KEEP:
                continue
            if properties is not None and key in properties:
                value[key] = prune(value[key], properties[key], sub_path, unknown)
            elif isinstance(additional, dict):
                value[key] = prune(value[key], additional, sub_path, unknown)
            elif not preserve and additional is not True:
                unknown.append(sub_path)
                del value[key]
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            value[index] = prune(item, schema["items"], f"{path}[{index}]", unknown)
    return value


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """Fill missing properties that declare a `default`, recursively."""
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = clone(sub["default"])
            if key in value:
                apply_defaults(value[key], sub)
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for item in value.values():
                apply_defaults(item, additional)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(item, schema["items"])
    return value


def _invalid(path: str, value: Any, text: str) -> Cause:
    return {
        "reason": "FieldValueInvalid",
        "message": f"Invalid value: {_go_value(value)}: {path} in body {text}",
        "field": path,
    }


def validate(value: Any, schema: dict[str, Any], path: str = "") -> list[Cause]:
    """Field errors of `value` against an OpenAPI v3 structural schema."""
    if value is None:
        if schema.get("nullable") or not schema.get("type"):
            return []
        expected = schema["type"]
        return [_invalid(path, "null", f'must be of type {expected}: "null"')]
    if schema.get("x-kubernetes-int-or-string"):
        if not (_has_type(value, "integer") or isinstance(value, str)):
            return [_invalid(path, _type_name(value), "must be of type integer or string")]
    elif schema.get("type") and not _has_type(value, schema["type"]):
        actual = _type_name(value)
        return [_invalid(path, actual, f'must be of type {schema["type"]}: "{actual}"')]
    causes: list[Cause] = []
    causes += _check_scalar(value, schema, path)
    causes += _check_combinators(value, schema, path)
    if isinstance(value, dict):
        causes += _check_object(value, schema, path)
    elif isinstance(value, list):
        causes += _check_array(value, schema, path)
    return causes


def _check_scalar(value: Any, schema: dict[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_go_value(v) for v in schema["enum"])
        causes.append(
            {
                "reason": "FieldValueNotSupported",
                "message": f"Unsupported value: {_go_value(value)}: supported values: {supported}",
                "field": path,
            }
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None:
            if schema.get("exclusiveMinimum") and value <= low:
                causes.append(_invalid(path, value, f"should be greater than {_go_value(low)}"))
            elif value < low:
                text = f"should be greater than or equal to {_go_value(low)}"
                causes.append(_invalid(path, value, text))
        if high is not None:
            if schema.get("exclusiveMaximum") and value >= high:
                causes.append(_invalid(path, value, f"should be less than {_go_value(high)}"))
            elif value > high:
                text = f"should be less than or equal to {_go_value(high)}"
                causes.append(_invalid(path, value, text))
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            text = f"should be at least {schema['minLength']} chars long"
            causes.append(_invalid(path, value, text))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            text = f"should be at most {schema['maxLength']} chars long"
            causes.append(_invalid(path, value, text))
        if "pattern" in schema and not re.search(schema["pattern"], value):
            causes.append(_invalid(path, value, f"should match '{schema['pattern']}'"))
        pattern = _FORMATS.get(schema.get("format", ""))
        if pattern is not None and not pattern.match(value):
            text = f"must be of type {schema['format']}: {_go_value(value)}"
            causes.append(_invalid(path, value, text))
    return causes


def _check_combinators(value: Any, schema: dict[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for sub in schema.get("allOf") or ():
        causes += validate(value, sub, path)
    if schema.get("anyOf") and not any(not validate(value, s, path) for s in schema["anyOf"]):
        causes.append(_invalid(path, value, "must validate at least one schema (anyOf)"))
    if schema.get("oneOf"):
        passing = sum(1 for s in schema["oneOf"] if not validate(value, s, path))
        if passing != 1:
            causes.append(_invalid(path, value, "must validate one and only one schema (oneOf)"))
    if "not" in schema and not validate(value, schema["not"], path):
        causes.append(_invalid(path, value, "must not validate the schema (not)"))
    return causes


def _check_object(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key in schema.get("required") or ():
        if key not in value:
            causes.append(
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value",
                    "field": _join(path, key),
                }
            )
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        text = f"should have at least {schema['minProperties']} properties"
        causes.append(_invalid(path, value, text))
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        text = f"should have at most {schema['maxProperties']} properties"
        causes.append(_invalid(path, value, text))
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        if not path and key in _ROOT_KEEP:
            continue
        if key in properties:
            causes += validate(item, properties[key], _join(path, key))
        elif isinstance(additional, dict):
            causes += validate(item, additional, _join(path, key))
        elif additional is False and not schema.get("x-kubernetes-preserve-unknown-fields"):
            causes.append(
                {
                    "reason": "FieldValueForbidden",
                    "message": "Forbidden: field not declared in schema",
                    "field": _join(path, key),
                }
            )
    return causes


def _check_array(value: list[Any], schema: dict[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    if "minItems" in schema and len(value) < schema["minItems"]:
        causes.append(_invalid(path, value, f"should have at least {schema['minItems']} items"))
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        causes.append(_invalid(path, value, f"should have at most {schema['maxItems']} items"))
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            causes += validate(item, items, f"{path}[{index}]")
    if schema.get("x-kubernetes-list-type") == "set":
        seen: list[Any] = []
        for index, item in enumerate(value):
            if item in seen:
                causes.append(
                    {
                        "reason": "FieldValueDuplicate",
                        "message": f"Duplicate value: {_go_value(item)}",
                        "field": f"{path}[{index}]",
                    }
                )
            seen.append(item)
    return causes

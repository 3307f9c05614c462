"""CRD validation rules (`x-kubernetes-validations`), evaluated with cel-python (`celpy`).

As the API server does: a rule on a schema node runs with `self` bound to the value at
that node; a rule that names `oldSelf` is a transition rule, run only on updates and only
where the old object has a value at the same place (list items correlate by key for
`x-kubernetes-list-type: map` only); a failed rule is a field error on the node's path
(plus `fieldPath`), worded like the real one: `spec: Invalid value: "object": <message>`.
Values are converted by their schema, as the API server converts them: `number` fields
are doubles even when written as `1`, and data under `x-kubernetes-preserve-unknown-fields`
(which rules cannot read) compares by deep equality. CRDs whose rules do not compile are
refused. Cost budgets are not estimated.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import celpy
from celpy import celtypes

Cause = dict[str, str]
Schema = dict[str, Any]
RULES = "x-kubernetes-validations"
_OLD_SELF = re.compile(r"\boldSelf\b")
_MISSING = object()
_REASONS = {
    "FieldValueInvalid": "Invalid value: {value}: {message}",
    "FieldValueForbidden": "Forbidden: {message}",
    "FieldValueRequired": "Required value: {message}",
    "FieldValueDuplicate": "Duplicate value: {value}: {message}",
}


@functools.lru_cache(maxsize=512)
def _program(rule: str) -> Any:
    environment = celpy.Environment()
    return environment.program(environment.compile(rule))


def compile_error(rule: str) -> str | None:
    """Why `rule` does not compile, or None."""
    try:
        _program(rule)
    except Exception as error:  # celpy's parse errors carry the position
        return str(error).splitlines()[0]
    return None


def crd_rule_causes(schema: Schema, path: str) -> list[Cause]:
    """Field errors for rules of a CRD schema that do not compile (checked at admission)."""
    causes: list[Cause] = []
    for index, rule in enumerate(schema.get(RULES) or ()):
        text = rule.get("rule") if isinstance(rule, dict) else None
        where = f"{path}.{RULES}[{index}].rule"
        if not isinstance(text, str) or not text.strip():
            causes.append(
                {"reason": "FieldValueRequired", "message": "Required value", "field": where}
            )
            continue
        error = compile_error(text)
        if error is not None:
            message = f"Invalid value: {json.dumps(text)}: compilation failed: {error}"
            causes.append({"reason": "FieldValueInvalid", "message": message, "field": where})
    for name, sub in (schema.get("properties") or {}).items():
        causes += crd_rule_causes(sub, f"{path}.properties[{name}]")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            causes += crd_rule_causes(schema[key], f"{path}.{key}")
    return causes


def rule_causes(schema: Schema, new: Any, old: Any = _MISSING, path: str = "") -> list[Cause]:
    """Field errors of the rules in `schema` for `new` (an update when `old` is given)."""
    causes: list[Cause] = []
    if new is None:
        return causes
    for rule in schema.get(RULES) or ():
        transition = bool(_OLD_SELF.search(rule["rule"]))
        if transition and old is _MISSING and not rule.get("optionalOldSelf"):
            continue
        cause = _evaluate(rule, schema, new, old, path)
        if cause is not None:
            causes.append(cause)
    if isinstance(new, dict):
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, value in new.items():
            sub = properties.get(key) or (additional if isinstance(additional, dict) else None)
            if sub is None:
                continue
            before = old.get(key, _MISSING) if isinstance(old, dict) else _MISSING
            causes += rule_causes(sub, value, before, _join(path, key))
    elif isinstance(new, list) and isinstance(schema.get("items"), dict):
        olds = _correlated(schema, old)
        for index, item in enumerate(new):
            before = olds.get(_key(schema, item), _MISSING) if olds else _MISSING
            causes += rule_causes(schema["items"], item, before, f"{path}[{index}]")
    return causes


def _correlated(schema: Schema, old: Any) -> dict[Any, Any]:
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return {}
    return {_key(schema, item): item for item in old}


def _key(schema: Schema, item: Any) -> Any:
    keys = schema.get("x-kubernetes-list-map-keys") or ()
    return tuple(json.dumps(item.get(k)) for k in keys) if isinstance(item, dict) else None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _evaluate(rule: dict[str, Any], schema: Schema, new: Any, old: Any, path: str) -> Cause | None:
    activation = {"self": to_cel(new, schema)}
    if old is not _MISSING:
        activation["oldSelf"] = to_cel(old, schema)
    field = path + str(rule.get("fieldPath") or "")
    reason = str(rule.get("reason") or "FieldValueInvalid")
    try:
        result = _program(rule["rule"]).evaluate(activation)
    except Exception as error:
        message = f"{rule['rule']}: evaluation error: {str(error).splitlines()[0]}"
        return _cause("FieldValueInvalid", field, schema, message)
    if isinstance(result, celtypes.BoolType) and bool(result):
        return None
    if isinstance(result, celtypes.BoolType | bool):
        return _cause(reason, field, schema, _message(rule, activation))
    return _cause("FieldValueInvalid", field, schema, f"{rule['rule']}: must evaluate to a bool")


def _message(rule: dict[str, Any], activation: dict[str, Any]) -> str:
    if rule.get("messageExpression"):
        try:
            return str(_program(rule["messageExpression"]).evaluate(activation))
        except Exception:
            pass  # the API server falls back to the message, then to the rule
    return str(rule.get("message") or f"failed rule: {rule['rule']}")


def _cause(reason: str, field: str, schema: Schema, message: str) -> Cause:
    kind = schema.get("type") or "object"
    text = _REASONS.get(reason, _REASONS["FieldValueInvalid"])
    return {
        "reason": reason,
        "message": text.format(value=json.dumps(kind), message=message),
        "field": field,
    }


def to_cel(value: Any, schema: Schema) -> Any:
    """`value` as the CEL value the API server makes of it under `schema`."""
    if value is None:
        return None
    if schema.get("x-kubernetes-int-or-string"):
        return celtypes.StringType(value) if isinstance(value, str) else celtypes.IntType(value)
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        if properties is None and not isinstance(additional, dict):
            return _opaque(value)
        entries = {}
        for key, item in value.items():
            sub = (properties or {}).get(key) or (
                additional if isinstance(additional, dict) else None
            )
            if item is None and properties is not None:
                continue  # a null field of an object reads as absent
            entries[celtypes.StringType(key)] = _opaque(item) if sub is None else to_cel(item, sub)
        return celtypes.MapType(entries)
    if kind == "array" and isinstance(value, list) and isinstance(schema.get("items"), dict):
        return celtypes.ListType([to_cel(item, schema["items"]) for item in value])
    if kind == "string" and isinstance(value, str):
        return celtypes.StringType(value)
    if kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
        return celtypes.DoubleType(float(value))
    if kind == "integer" and isinstance(value, int | float) and not isinstance(value, bool):
        return celtypes.IntType(int(value))
    if kind == "boolean" and isinstance(value, bool):
        return celtypes.BoolType(value)
    return _opaque(value)


def _opaque(value: Any) -> Any:
    """Data a rule cannot read (preserved unknown fields): equal only to the same data."""
    return celtypes.StringType("\x00json:" + json.dumps(value, sort_keys=True))

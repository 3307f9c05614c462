"""Label and field selectors in the syntax of the Kubernetes API."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import bad_request

Matcher = Callable[[dict[str, Any]], bool]

_TERM = re.compile(
    r"^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*"
    r"(?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<value>.*?))?\s*$"
)


def _split_terms(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    terms, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    terms.append(current)
    return [t for t in terms if t.strip()]


def _parse_set(value: str) -> set[str]:
    value = value.strip()
    if not (value.startswith("(") and value.endswith(")")):
        raise bad_request(f'unable to parse requirement: found "{value}", expected: "("')
    return {v.strip() for v in value[1:-1].split(",") if v.strip()}


LabelTest = Callable[[dict[str, str]], bool]


def _label_test(key: str, op: str, value: str, negated: bool, term: str) -> LabelTest:
    """One requirement of a label selector as a predicate on a label dictionary."""
    if negated:
        if op:
            raise bad_request(f"unable to parse requirement: {term!r}")
        return lambda labels: key not in labels
    if not op:
        return lambda labels: key in labels
    if op in ("=", "=="):
        return lambda labels: labels.get(key) == value.strip()
    if op == "!=":
        return lambda labels: labels.get(key) != value.strip()
    values = _parse_set(value)
    if op == "in":
        return lambda labels: labels.get(key) in values
    return lambda labels: labels.get(key) not in values


def label_matcher(selector: str | None) -> Matcher:
    """A predicate on objects for a label selector (=, ==, !=, in, notin, key, !key)."""
    if not selector or not selector.strip():
        return lambda obj: True
    tests: list[LabelTest] = []
    for term in _split_terms(selector):
        match = _TERM.match(term)
        if not match:
            raise bad_request(f"unable to parse requirement: {term!r} in selector {selector!r}")
        op = (match["op"] or "").strip()
        tests.append(_label_test(match["key"], op, match["value"] or "", bool(match["neg"]), term))

    def matches(obj: dict[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(test(labels) for test in tests)

    return matches


def field_value(obj: dict[str, Any], path: str) -> str:
    """The string value of a dotted field path, "" when absent (as field selectors see it)."""
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return ""
        current = current[part]
    if isinstance(current, bool):
        return "true" if current else "false"
    return "" if current is None else str(current)


def _field_test(path: str, value: str, *, negate: bool) -> Matcher:
    return lambda obj: (field_value(obj, path) == value) != negate


def field_matcher(selector: str | None) -> Matcher:
    """A predicate for a field selector (`metadata.name=x,spec.nodeName!=`)."""
    if not selector or not selector.strip():
        return lambda obj: True
    tests: list[Matcher] = []
    for term in _split_terms(selector):
        for op in ("!=", "==", "="):
            if op in term:
                path, value = (part.strip() for part in term.split(op, 1))
                tests.append(_field_test(path, value, negate=op == "!="))
                break
        else:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")

    def matches(obj: dict[str, Any]) -> bool:
        return all(test(obj) for test in tests)

    return matches


def exact_field(selector: str | None, path: str) -> str | None:
    """The value a selector pins `path` to with `=`/`==`, for index lookups; else None."""
    if not selector:
        return None
    for term in _split_terms(selector):
        if "!=" in term:
            continue
        for op in ("==", "="):
            if op in term:
                key, value = (part.strip() for part in term.split(op, 1))
                if key == path:
                    return value
                break
    return None

"""A small, safe language for a workload's success and failure conditions.

A Study's author is untrusted, so a condition is data, never code: a dotted path into the
workload object, optionally compared with a literal.

    status.conditions[type=Complete].status == True
    status.phase == Succeeded
    status.succeeded != 0
    status.completionTime                      (true when present and not empty/false/0)

A segment `name[key=value]` selects the first list item whose `key` equals `value`.
Literals are compared as text (`True` matches the JSON true and the string "True");
quotes are optional. A missing path is never equal to anything (so `!=` is true).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Condition", "ConditionError", "parse_condition"]

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_LITERAL = r"(?:\"[^\"]*\"|'[^']*'|[A-Za-z0-9_.:/+-]+)"
_SEGMENT = re.compile(rf"^({_NAME})(?:\[({_NAME})=({_LITERAL})\])?$")
_EXPR = re.compile(rf"^\s*(\S+?)\s*(?:(==|!=)\s*({_LITERAL}))?\s*$")
MAX_LENGTH = 256


class ConditionError(ValueError):
    """A condition that does not parse; the message says what is wrong in one line."""


@dataclass(frozen=True)
class _Segment:
    name: str
    key: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class Condition:
    """A parsed condition; `holds(obj)` evaluates it on a workload object."""

    text: str
    path: tuple[_Segment, ...]
    op: str | None = None
    literal: str | None = None

    def holds(self, obj: Mapping[str, Any]) -> bool:
        found, value = _lookup(obj, self.path)
        if self.op is None:
            return found and value not in (None, "", False, 0, [], {}, "False", "false")
        equal = found and _text(value) == self.literal
        return equal if self.op == "==" else not equal


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return text


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _literal(text: str) -> str:
    plain = _unquote(text)
    return {"true": "True", "false": "False"}.get(plain, plain)


def parse_condition(text: str) -> Condition:
    """The condition written in `text`; ConditionError if it is not one."""
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"longer than {MAX_LENGTH} characters")
    match = _EXPR.match(text)
    if match is None:
        raise ConditionError(
            f"{text!r} is not PATH or PATH == VALUE or PATH != VALUE "
            "(e.g. status.conditions[type=Complete].status == True)"
        )
    path, op, literal = match.groups()
    segments = []
    for part in path.split("."):
        seg = _SEGMENT.match(part)
        if seg is None:
            raise ConditionError(f"bad path segment {part!r} in {text!r} (name or name[key=value])")
        name, key, value = seg.groups()
        segments.append(_Segment(name, key, None if value is None else _literal(value)))
    return Condition(text, tuple(segments), op, None if literal is None else _literal(literal))


def _lookup(obj: Any, path: tuple[_Segment, ...]) -> tuple[bool, Any]:
    current = obj
    for seg in path:
        if not isinstance(current, Mapping) or seg.name not in current:
            return False, None
        current = current[seg.name]
        if seg.key is not None:
            if not isinstance(current, list):
                return False, None
            current = next(
                (
                    item
                    for item in current
                    if isinstance(item, Mapping)
                    and seg.key in item
                    and _text(item[seg.key]) == seg.value
                ),
                None,
            )
            if current is None:
                return False, None
    return True, current

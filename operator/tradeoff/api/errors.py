"""Turning validation failures into one readable line per problem."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError


class SpecProblem(ValueError):
    """Raised by model validators: problems at paths relative to the model."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(f"{path}: {msg}" if path else msg for path, msg in problems))


class ManifestError(Exception):
    """A manifest could not be read or is invalid; `problems` holds one line each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def join_path(base: str, field: str | int) -> str:
    """`spec.parameters` + 1 -> `spec.parameters[1]`; `spec` + `budget` -> `spec.budget`."""
    if isinstance(field, int):
        return f"{base}[{field}]"
    if not base:
        return field
    if field.startswith("["):
        return base + field
    return f"{base}.{field}"


def _loc_path(prefix: str, loc: Iterable[str | int]) -> str:
    path = prefix
    for part in loc:
        path = join_path(path, _shown_key(part))
    return path


def _shown_key(part: str | int) -> str | int:
    """A field name as an error shows it: one a user wrote (an unknown field) may hold line
    breaks or run long, so such a one is quoted, escaped and cut (`['a\\rb']`)."""
    if isinstance(part, int) or (part.isprintable() and len(part) <= 40):
        return part
    return f"[{_short(part)}]"


def _known_fields(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """Wire names of the fields of the model that `loc` points into (best effort)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        match = next(
            (f for name, f in fields.items() if part in (name, f.alias)),
            None,
        )
        current = _model_of(match.annotation) if match is not None else None
    if current is None or not hasattr(current, "model_fields"):
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _model_of(annotation: Any) -> Any:
    """The BaseModel class inside an annotation like `Budget | None` or `list[Parameter]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))  # 1.0 -> 1; 1e150 stays 1e+150
    return str(value)


PATTERN_HINTS: dict[str, str] = {}
"""Plain words for a field pattern, shown instead of the regular expression."""


def explained(pattern: str, words: str) -> str:
    """Register `words` as the wording of `pattern` in errors; returns the pattern."""
    PATTERN_HINTS[pattern] = words
    return pattern


# Location parts that name a branch of a union (`str | int | float | bool`), not a field.
_UNION_TAGS = {"str": "a string", "int": "a number", "float": "a number", "bool": "a boolean"}

_WANTED = {
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def _merge_unions(items: list[Any]) -> list[Any]:
    """One error per value for failed unions: `values[0].str`, `values[0].int` -> `values[0]`."""
    merged: list[Any] = []
    by_loc: dict[tuple[Any, ...], Any] = {}
    for item in items:
        loc = tuple(item["loc"])
        # Unions of other kinds tag their branch like `function-after[...]`: drop those.
        loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p and "]" in p))
        if loc and loc[-1] in _UNION_TAGS and item["type"] in _WANTED:
            head = loc[:-1]
            if head in by_loc:
                by_loc[head]["wanted"].append(_UNION_TAGS[str(loc[-1])])
                continue
            tag = _UNION_TAGS[str(loc[-1])]
            union = {**item, "loc": head, "type": "union", "wanted": [tag], "original": item}
            union["original"] = {**item, "loc": loc}
            by_loc[head] = union
            merged.append(union)
            continue
        merged.append({**item, "loc": loc})
    # A single "branch" is a field that happens to be named like a tag, not a union.
    return [m["original"] if m["type"] == "union" and len(m["wanted"]) == 1 else m for m in merged]


def validation_problems(error: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    """(path, message) per problem, paths relative to `model`, SpecProblems unpacked."""
    problems: list[tuple[str, str]] = []
    for item in _merge_unions(list(error.errors())):
        loc = tuple(item["loc"])
        path = _loc_path("", loc)
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, SpecProblem):
            problems += [
                (join_path(path, sub) if sub else path, msg) for sub, msg in cause.problems
            ]
            continue
        problems.append((path, _message(item, model, loc)))
    return list(dict.fromkeys(problems))


def format_validation_error(
    error: ValidationError, model: type[BaseModel], prefix: str = ""
) -> list[str]:
    """One line per problem: `spec.budget.maxTrials: must be at least 1 (got 0)`."""
    lines = []
    for path, msg in validation_problems(error, model):
        full = join_path(prefix, path) if path else prefix
        lines.append(f"{full or '(top level)'}: {msg}")
    return list(dict.fromkeys(lines))


def _message(item: Any, model: type[BaseModel], loc: Sequence[str | int]) -> str:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    got = item.get("input")
    if kind == "union":
        wanted = list(dict.fromkeys(item["wanted"]))
        either = ", ".join(wanted[:-1]) + " or " + wanted[-1] if len(wanted) > 1 else wanted[0]
        return f"must be {either} (got {_short(got)})"
    if kind in _WANTED:
        if kind == "string_type" and isinstance(got, bool):
            return (
                f"must be a string (got {got}: YAML, as kubectl reads it, takes an unquoted"
                " y, n, yes, no, on or off for true or false; quote it)"
            )
        return f"must be {_WANTED[kind]} (got {_short(got)})"
    if kind == "extra_forbidden":
        known = _known_fields(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if hint:
            return f"unknown field (did you mean '{hint[0]}'?)"
        return "unknown field" + (f" (known: {', '.join(sorted(known))})" if known else "")
    if kind == "missing":
        return "required field is missing"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {
            "greater_than_equal": "at least",
            "greater_than": "greater than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        bound = next(iter(ctx.values()))
        return f"must be {words} {_num(bound)} (got {_short(got)})"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s) (got {ctx.get('actual_length')})"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s) (got {ctx.get('actual_length')})"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters (got {len(str(got))})"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"must be {PATTERN_HINTS.get(pattern, f'match {pattern}')} (got {_short(got)})"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')} (got {_short(got)})"
    if kind == "value_error":
        return str(ctx.get("error", item["msg"]))
    msg: str = item["msg"]
    msg = msg[0].lower() + msg[1:]
    if got is not None and not isinstance(got, dict | list):
        msg += f" (got {_short(got)})"
    return msg

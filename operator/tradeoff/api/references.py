"""Checking the `${...}` references of a trial template before any trial runs.

A reference that is misspelt is not substituted: the trial gets the text as it is and
fails, every time. So every string of the pod is scanned for what looks like a reference
and each malformed or unknown one is reported with the reference it most likely means:
`$params.C`, `$(params.C)`, `{params.C}`, `${param.C}`, `${params.C` (unclosed),
`${ params.C }`, `${C}`, `${params.gama}`, `${trials.name}`, and a reference where
nothing is substituted (say, in `image`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from tradeoff.api.template import CONTEXT_REFERENCES, affinity_expressions

__all__ = ["reference_problems", "string_problems", "substituted_strings"]

_SCOPES = ("params", "trial", "study")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_DOTTED = re.compile(rf"({_IDENT})\.({_IDENT})")
_OPEN = re.compile(r"\$\{")
_INSIDE = re.compile(r"[\w.\s{]*")
# `$params.C` and `$(params.C)`: a `$` without the brace.
_BARE = re.compile(rf"\$({_IDENT})\.({_IDENT})")
_PAREN = re.compile(rf"\$\(\s*({_IDENT})\.({_IDENT})\s*\)")
# `{params.C}` and `{{params.C}}`: braces without the `$`.
_BRACED = re.compile(rf"(?<![$\{{])\{{\{{?\s*({_IDENT})\.({_IDENT})\s*\}}\}}?")
_CONTEXT = sorted(f"{s}.{n}" for s, n in CONTEXT_REFERENCES)


def substituted_strings(pod: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(path, text) of every string where references are substituted."""
    for i, c in enumerate(pod.get("containers") or []):
        if not isinstance(c, dict):
            continue
        base = f"pod.containers[{i}]"
        for field in ("command", "args"):
            values = c.get(field)
            for j, v in enumerate(values if isinstance(values, list) else []):
                yield f"{base}.{field}[{j}]", str(v)
        envs = c.get("env")
        for j, env in enumerate(envs if isinstance(envs, list) else []):
            if isinstance(env, dict) and isinstance(env.get("value"), str):
                yield f"{base}.env[{j}].value", env["value"]
        resources = c.get("resources")
        for kind in ("requests", "limits"):
            quantities = resources.get(kind) if isinstance(resources, dict) else None
            for res, q in (quantities if isinstance(quantities, dict) else {}).items():
                yield f"{base}.resources.{kind}.{res}", str(q)
    selector = pod.get("nodeSelector")
    for key, value in (selector if isinstance(selector, dict) else {}).items():
        yield f"pod.nodeSelector.{key}", str(value)
    for where, expression in affinity_expressions(pod):
        values = expression.get("values")
        for j, v in enumerate(values if isinstance(values, list) else []):
            yield f"{where}.values[{j}]", str(v)


def _all_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, text) of every string in `value`, however deep (no recursion)."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            stack += [(f"{where}.{k}", v) for k, v in reversed(list(item.items()))]
        elif isinstance(item, list):
            stack += [(f"{where}[{i}]", v) for i, v in reversed(list(enumerate(item)))]


def reference_problems(
    pod: Mapping[str, Any], parameters: Collection[str]
) -> list[tuple[str, str]]:
    """(path, message) for every malformed or unknown reference in a template's pod."""
    scan = _Scanner(set(parameters))
    substituted = dict(substituted_strings(pod))
    problems = [(path, m) for path, text in substituted.items() for m in scan.problems(text)]
    for path, text in _all_strings(dict(pod), "pod"):
        if path not in substituted and scan.mentions(text):
            problems.append(
                (
                    path,
                    f"{_quote(text)}: references are substituted only in command, args,"
                    " env values and resource quantities",
                )
            )
    return problems


def string_problems(
    strings: Iterable[tuple[str, str]], parameters: Collection[str]
) -> list[tuple[str, str]]:
    """(path, message) for every malformed or unknown reference in strings that are all
    substituted (a workload's spec outside its pod templates)."""
    scan = _Scanner(set(parameters))
    return [(path, m) for path, text in strings for m in scan.problems(text)]


def _quote(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:57] + "...")


class _Scanner:
    """Finds reference-like text in one string and says what is wrong with it."""

    def __init__(self, parameters: set[str]) -> None:
        self.parameters = parameters
        self.valid = [f"params.{p}" for p in sorted(parameters)] + _CONTEXT

    def problems(self, text: str) -> list[str]:
        """One message per malformed or unknown reference in `text`."""
        out = [m for _, m in self._dollar_braces(text) if m]
        for pattern in (_BARE, _PAREN, _BRACED):
            for m in pattern.finditer(text):
                scope, name = m.group(1), m.group(2)
                if self._ours(scope, name):
                    out.append(
                        f"{_quote(m.group(0))} is not a reference; {self._hint(scope, name)}"
                    )
        return out

    def mentions(self, text: str) -> bool:
        """Whether `text` holds anything meant as a reference, well-formed or not."""
        if any(ours for ours, _ in self._dollar_braces(text)):
            return True
        return any(
            self._ours(m.group(1), m.group(2))
            for pattern in (_BARE, _PAREN, _BRACED)
            for m in pattern.finditer(text)
        )

    def _dollar_braces(self, text: str) -> Iterator[tuple[bool, str | None]]:
        """(whether it is meant as a reference, the problem or None) of each `${...}`."""
        for m in _OPEN.finditer(text):
            inside = _INSIDE.match(text, m.end())  # no copy of the rest: linear in `text`
            body = inside.group(0) if inside else ""
            closed = text[m.end() + len(body) : m.end() + len(body) + 1] == "}"
            if not closed:
                body = body.rstrip()
            end = m.end() + len(body) + closed
            if closed and "{" in body and text[end : end + 1] == "}":
                end += 1  # `${{params.C}}`
            written = text[m.start() : end]
            yield self._judge(written, body, closed=closed)

    def _judge(self, written: str, body: str, *, closed: bool) -> tuple[bool, str | None]:
        compact = re.sub(r"[\s{]", "", body)
        dotted = _DOTTED.fullmatch(compact)
        if dotted is None:
            if compact in self.parameters:
                return True, f"{_quote(written)} is not a reference; write '${{params.{compact}}}'"
            if compact in _SCOPES or compact.startswith(tuple(f"{s}." for s in _SCOPES)):
                return True, f"{_quote(written)} is not a reference; {self._known()}"
            return False, None  # `${HOME}` and the like: not Tradeoff's, passed as written
        scope, name = dotted.group(1), dotted.group(2)
        if closed and compact == body and self._valid(scope, name):
            return True, None
        if not closed:
            why = "is not closed"
        elif "{" in body:
            why = "has a brace too many"
        elif compact != body:
            why = "has spaces"
        elif scope == "params":
            why = f"names unknown parameter {name!r}"
        else:
            why = "is not a reference"
        return True, f"{_quote(written)} {why}; {self._hint(scope, name)}"

    def _valid(self, scope: str, name: str) -> bool:
        return (scope == "params" and name in self.parameters) or (
            scope,
            name,
        ) in CONTEXT_REFERENCES

    def _ours(self, scope: str, name: str) -> bool:
        """Whether `scope.name` is meant as a Tradeoff reference (not, say, `$foo.bar`)."""
        if scope in _SCOPES or name in self.parameters:
            return True
        return bool(difflib.get_close_matches(scope, [*_SCOPES, "parameters"], n=1, cutoff=0.7))

    def _hint(self, scope: str, name: str) -> str:
        """How to write the reference `scope.name` most likely means."""
        if self._valid(scope, name):
            return f"write '${{{scope}.{name}}}'"
        if name in self.parameters and scope not in ("trial", "study"):
            return f"write '${{params.{name}}}'"
        if scope == "params":  # the shared `params.` would make every name look close
            by_lower = {p.lower(): p for p in sorted(self.parameters)}
            close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
            close = [f"params.{by_lower[c]}" for c in close]
        else:
            close = difflib.get_close_matches(f"{scope}.{name}", self.valid, n=1, cutoff=0.6)
        if close:
            return f"did you mean '${{{close[0]}}}'?"
        return f"parameters: {self._names()}" if scope == "params" else self._known()

    def _names(self) -> str:
        names = sorted(self.parameters)
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        return shown or "none"

    def _known(self) -> str:
        return (
            f"references are ${{params.NAME}} ({self._names()}),"
            " ${trial.name}, ${trial.number} and ${study.name}"
        )

"""What the converters share: the result, the error, notes and the small conversions."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tradeoff.api.study import API_VERSION

__all__ = [
    "Conversion",
    "ImportProblem",
    "Notes",
    "identifier",
    "mapping",
    "number",
    "study_name",
]

NAME_MAX = 52
"""The longest Study name (trial names append -NNNN)."""


class ImportProblem(ValueError):
    """The input cannot become a Study: `field` is where, the message says why and the fix."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


@dataclass
class Notes:
    """What did not carry over (or changed meaning), one line per point, in input order."""

    lines: list[str] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        line = f"{where}: {message}" if where else message
        if line not in self.lines:
            self.lines.append(line)


@dataclass(frozen=True)
class Conversion:
    """A Study manifest (plain data, ready for YAML) and the notes on what changed."""

    manifest: dict[str, Any]
    notes: list[str]
    source: str
    """What was converted, e.g. `Katib Experiment random` (for the manifest's header)."""


def mapping(value: Any, where: str) -> dict[str, Any]:
    """`value` as a mapping (absent: empty), or ImportProblem naming `where`."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ImportProblem(where, f"must be a mapping (got {type(value).__name__})")
    return dict(value)


def number(value: Any, where: str) -> float:
    """A number written as Katib writes them (strings such as "0.01") or as a number."""
    if isinstance(value, bool) or value is None:
        raise ImportProblem(where, f"must be a number (got {value!r})")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ImportProblem(where, f"must be a number (got {value!r})") from None
    if not math.isfinite(out):
        raise ImportProblem(where, f"must be a finite number (got {value!r})")
    return out


def plain(value: float, *, whole: bool) -> int | float:
    """An int where the parameter is an int (or the float is whole and `whole` asks so)."""
    return int(value) if whole and value.is_integer() else value


_NOT_IDENT = re.compile(r"[^A-Za-z0-9_]+")


def identifier(name: str, taken: set[str]) -> str:
    """A parameter name Tradeoff accepts: `num-layers` -> `num_layers`, `--lr` -> `lr`."""
    out = _NOT_IDENT.sub("_", name).strip("_") or "param"
    if out[0].isdigit():
        out = f"p_{out}"
    out = out[:63]
    base, n = out, 2
    while out in taken:
        out = f"{base[:60]}_{n}"
        n += 1
    taken.add(out)
    return out


def study_name(name: Any) -> str:
    """The input's name as a Study name (a DNS label of at most 52 characters)."""
    text = re.sub(r"[^a-z0-9-]+", "-", str(name or "imported").lower()).strip("-")
    return text[:NAME_MAX].rstrip("-") or "imported"


def study(name: str, namespace: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """The Study document around `spec`."""
    metadata: dict[str, Any] = {"name": name}
    if isinstance(namespace, str) and namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": "Study", "metadata": metadata, "spec": spec}

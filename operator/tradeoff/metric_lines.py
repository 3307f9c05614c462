"""The lines a trial prints that Tradeoff reads, each parsed into data or one problem (pure).

Two metric line formats are read (``MetricsFormat``; ``auto`` reads both):

- ``json``: ``TRADEOFF_METRICS {"accuracy": 0.91, "step": 3}``, as printed by
  ``trial_runner.report()``. The prefix may follow other text (e.g. a log
  timestamp). An integer ``"step"`` >= 0 marks the line's values as
  intermediate at that step.
- ``katib``: Katib's default stdout collector, ``name=value`` pairs, several
  per line, separated by whitespace or commas (``epoch=3 accuracy=0.91``).
  Names match ``[\\w|-]+``; values are float literals (or nan/inf, which are
  reported as problems) ending at whitespace, ``,;)]}`` or the line's end. A
  pair named ``step``, or failing that ``epoch``, with an integer value marks
  the line's other values as intermediate at that step; the marker itself is
  not a metric.

A third line, ``TRADEOFF_ARTIFACT {"name": ..., "size": ..., "sha256": ...}``, is what
``trial_runner.save_artifact`` prints for each file it stored.

Each reader returns what the line says, or a string: the one-line problem to record.
What is kept of it (and how much) is `tradeoff.trial_output`'s.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tradeoff.trial_stream import excerpt

__all__ = [
    "ARTIFACT_PREFIX",
    "JSON_PREFIX",
    "katib_pairs",
    "read_artifact",
    "read_json_metrics",
    "read_katib",
    "short",
]

JSON_PREFIX = "TRADEOFF_METRICS"
ARTIFACT_PREFIX = "TRADEOFF_ARTIFACT"
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")

_KATIB_PAIR = re.compile(
    r"(?<![\w|-])([\w|-]+)\s*=\s*"  # the look-behind keeps long words linear
    r"([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|nan|inf(?:inity)?))"
    r"(?=[\s,;)\]}]|$)",
    re.IGNORECASE,
)
_STEP_MARKERS = ("step", "epoch")


def short(text: str, limit: int = 80) -> str:
    """`text` cut for a problem line."""
    return excerpt(text, limit)


def read_json_metrics(payload: str) -> tuple[dict[str, Any], int | None] | str:
    """(the values, the step or None) of a ``TRADEOFF_METRICS`` line after its prefix."""
    try:
        record = json.loads(payload)
    except (ValueError, RecursionError) as error:
        return f"TRADEOFF_METRICS line is not valid JSON: {error}"
    if not isinstance(record, dict):
        return f"TRADEOFF_METRICS line must hold a JSON object: {short(payload)}"
    step = record.pop("step", None)
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
        return f"step must be an integer >= 0, got {short(json.dumps(step))}"
    return record, step


def read_artifact(payload: str) -> tuple[str, int, str] | str:
    """(name, size, SHA-256) of a ``TRADEOFF_ARTIFACT`` line after its prefix."""
    try:
        record = json.loads(payload)
    except (ValueError, RecursionError):
        record = None
    name = record.get("name") if isinstance(record, dict) else None
    size = record.get("size") if isinstance(record, dict) else None
    sha = record.get("sha256") if isinstance(record, dict) else None
    if not (
        isinstance(name, str)
        and _ARTIFACT_NAME.match(name)
        and type(size) is int
        and size >= 0
        and isinstance(sha, str)
        and _SHA256.match(sha)
    ):
        return f"TRADEOFF_ARTIFACT line is not name/size/sha256: {short(payload)}"
    return name, size, sha


def katib_pairs(line: str) -> list[tuple[str, str]]:
    """The ``name=value`` pairs of a line, as text."""
    pairs: list[tuple[str, str]] = _KATIB_PAIR.findall(line)
    return pairs


def read_katib(pairs: list[tuple[str, str]]) -> tuple[dict[str, float], int | None] | str:
    """(the values, the step or None) of a line's ``name=value`` pairs: a pair named
    ``step`` (or else ``epoch``) is the step, not a metric."""
    values = {name: text for name, text in pairs}
    step: int | None = None
    for marker in _STEP_MARKERS:
        if marker in values:
            text = values.pop(marker)
            number = float(text)
            if not number.is_integer() or number < 0:
                return f"{marker} must be an integer >= 0, got {text}"
            step = int(number)
            break
    return {name: float(text) for name, text in values.items()}, step

"""Parse what a trial prints into final and intermediate metric values.

Two line formats are read (``MetricsFormat``; ``auto`` reads both):

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

Every metric line, intermediate or not, updates the metric's final value; the
termination-message summary (``apply_summary``) overrides final values. Bad
metric lines become entries in ``problems``; nothing here raises on input.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from typing import Literal

__all__ = ["JSON_PREFIX", "MAX_LINE_CHARS", "MAX_PROBLEMS", "MetricsFormat", "TrialOutput"]

MetricsFormat = Literal["auto", "json", "katib"]

JSON_PREFIX = "TRADEOFF_METRICS"
MAX_LINE_CHARS = 64 * 1024
MAX_PROBLEMS = 20
MAX_METRICS = 1000

_KATIB_PAIR = re.compile(
    r"(?<![\w|-])([\w|-]+)\s*=\s*"  # the look-behind keeps long words linear
    r"([+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|nan|inf(?:inity)?))"
    r"(?=[\s,;)\]}]|$)",
    re.IGNORECASE,
)
_STEP_MARKERS = ("step", "epoch")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class TrialOutput:
    """Accumulates metric values from a trial's output lines.

    ``metric_names``, when given, keeps only those metrics (as Katib does),
    which bounds memory when a chatty log has ``name=value`` text.
    """

    def __init__(
        self, format: MetricsFormat = "auto", metric_names: Collection[str] | None = None
    ) -> None:
        if format not in ("auto", "json", "katib"):
            raise ValueError(f"metrics format must be auto, json or katib, got {format!r}")
        self.format: MetricsFormat = format
        self.final: dict[str, float] = {}
        self.intermediate: dict[str, list[tuple[int, float]]] = {}
        self.problems: list[str] = []
        self.problems_dropped = 0
        self.lines = 0
        self._wanted = frozenset(metric_names) if metric_names is not None else None
        self._read_json = format in ("auto", "json")
        self._read_katib = format in ("auto", "katib")

    @property
    def last_step(self) -> int | None:
        """The highest step seen in any intermediate value."""
        steps = [series[-1][0] for series in self.intermediate.values() if series]
        return max(steps) if steps else None

    def feed_text(self, text: str) -> None:
        """Feed a whole output text (lines separated by ``\\n``)."""
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the text ends with a newline, or is empty
        for line in lines:
            self.feed(line)

    def feed(self, line: str) -> None:
        """Feed one output line; ``\\r`` splits it into segments that are each read."""
        self.lines += 1
        if len(line) > MAX_LINE_CHARS:
            if self._read_json and JSON_PREFIX in line:
                self._problem(f"TRADEOFF_METRICS line is longer than {MAX_LINE_CHARS} characters")
                return
            line = line[:MAX_LINE_CHARS]
        if "\r" in line:
            for segment in line.split("\r"):
                self._read(segment)
        else:
            self._read(line)

    def apply_summary(self, text: str) -> None:
        """Take final values from a termination-message summary ``{"metrics": {...}}``."""
        if not text.strip():
            return
        try:
            summary = json.loads(text)
        except (ValueError, RecursionError) as error:
            self._problem(f"termination message is not valid JSON: {error}", where="summary")
            return
        metrics = summary.get("metrics") if isinstance(summary, dict) else None
        if not isinstance(metrics, dict):
            self._problem('termination message has no "metrics" object', where="summary")
            return
        for name, value in metrics.items():
            self._accept(name, value, None, where="summary")

    def _read(self, line: str) -> None:
        if self._read_json:
            start = line.find(JSON_PREFIX)
            if start >= 0:
                self._read_json_line(line[start + len(JSON_PREFIX) :])
                return
        if self._read_katib and "=" in line:
            pairs = _KATIB_PAIR.findall(line)
            if pairs:
                self._read_katib_pairs(pairs)

    def _read_json_line(self, payload: str) -> None:
        try:
            record = json.loads(payload)
        except (ValueError, RecursionError) as error:
            self._problem(f"TRADEOFF_METRICS line is not valid JSON: {error}")
            return
        if not isinstance(record, dict):
            self._problem(f"TRADEOFF_METRICS line must hold a JSON object: {_short(payload)}")
            return
        step = record.pop("step", None)
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
            self._problem(f"step must be an integer >= 0, got {_short(json.dumps(step))}")
            return
        for name, value in record.items():
            self._accept(name, value, step)

    def _read_katib_pairs(self, pairs: list[tuple[str, str]]) -> None:
        values = {name: text for name, text in pairs}
        step: int | None = None
        for marker in _STEP_MARKERS:
            if marker in values:
                text = values.pop(marker)
                number = float(text)
                if not number.is_integer() or number < 0:
                    self._problem(f"{marker} must be an integer >= 0, got {text}")
                    return
                step = int(number)
                break
        for name, text in values.items():
            self._accept(name, float(text), step)

    def _accept(self, name: object, value: object, step: int | None, where: str = "") -> None:
        if not isinstance(name, str) or not name or len(name) > 256:
            self._problem(f"bad metric name {_short(repr(name))}", where)
            return
        if self._wanted is not None and name not in self._wanted:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._problem(f"metric {name!r} is not a number: {_short(repr(value))}", where)
            return
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            # A diverged final value must not leave an older, finite one standing.
            if step is None:
                self.final.pop(name, None)
            self._problem(f"metric {name!r} is not finite: {number}", where)
            return
        if name not in self.final and len(self.final) >= MAX_METRICS:
            self._problem(f"more than {MAX_METRICS} metrics; {name!r} ignored", where)
            return
        self.final[name] = number
        if step is not None:
            self.intermediate.setdefault(name, []).append((step, number))

    def _problem(self, message: str, where: str = "") -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.problems_dropped += 1
            return
        self.problems.append(f"{where or f'line {self.lines}'}: {message}")

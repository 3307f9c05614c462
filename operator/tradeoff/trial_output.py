"""Parse what a trial prints into final and intermediate metric values.

The line formats (``MetricsFormat``: ``json``, ``katib``, ``auto`` reads both; and the
``TRADEOFF_ARTIFACT`` line) are read by `tradeoff.metric_lines`; this module keeps what
they say. Every metric line, intermediate or not, updates the metric's final value; the
termination-message summary (``apply_summary``) overrides final values. Bad
metric lines become entries in ``problems``; nothing here raises on input. A final
value that is NaN or infinite is a problem too, and is kept in ``invalid`` instead of
``final`` (so a diverged objective is told apart from a missing one). ``artifacts`` keeps
the latest saved file per name (at most ``MAX_ARTIFACTS``).

Memory stays bounded whatever a trial prints: lines are cut at ``MAX_LINE_CHARS``,
at most ``MAX_METRICS`` metrics and ``MAX_PROBLEMS`` problems are kept, and each kept
series of intermediate values holds its last ``INTERMEDIATE_CAP`` steps.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable
from typing import Literal

from tradeoff.api.trial import ARTIFACTS_CAP, INTERMEDIATE_CAP, METRICS_CAP
from tradeoff.metric_lines import (
    ARTIFACT_PREFIX,
    JSON_PREFIX,
    katib_pairs,
    read_artifact,
    read_json_metrics,
    read_katib,
    short,
)
from tradeoff.trial_stream import MAX_LINE_BYTES, Line

__all__ = [
    "MAX_ARTIFACTS",
    "MAX_LINE_CHARS",
    "MAX_PROBLEMS",
    "MetricsFormat",
    "TrialOutput",
]

MetricsFormat = Literal["auto", "json", "katib"]

MAX_ARTIFACTS = ARTIFACTS_CAP
MAX_LINE_CHARS = MAX_LINE_BYTES
MAX_PROBLEMS = 20
MAX_METRICS = METRICS_CAP


class TrialOutput:
    """Accumulates metric values from a trial's output lines.

    ``metric_names``, when given, keeps only those metrics (as Katib does),
    which bounds memory when a chatty log has ``name=value`` text. ``series``,
    when given, names the metrics whose intermediate values are kept as a series
    (others keep only their latest step in ``latest``); ``on_step`` is called
    with each intermediate value as it is read.
    """

    def __init__(
        self,
        format: MetricsFormat = "auto",
        metric_names: Collection[str] | None = None,
        *,
        series: Collection[str] | None = None,
        on_step: Callable[[str, int, float], None] | None = None,
    ) -> None:
        if format not in ("auto", "json", "katib"):
            raise ValueError(f"metrics format must be auto, json or katib, got {format!r}")
        self.format: MetricsFormat = format
        self.final: dict[str, float] = {}
        self.invalid: dict[str, float] = {}
        """Metrics whose final value is NaN or infinite (kept apart: never a value)."""
        self.intermediate: dict[str, list[tuple[int, float]]] = {}
        self.latest: dict[str, tuple[int, float]] = {}
        """The latest intermediate (step, value) of every metric."""
        self.steps = 0
        """Intermediate values read so far (it grows with each one, unlike the series)."""
        self.artifacts: dict[str, tuple[int, str]] = {}
        """Files the trial says it saved: name -> (size, SHA-256)."""
        self.problems: list[str] = []
        self.problems_dropped = 0
        self.lines = 0
        self._wanted = frozenset(metric_names) if metric_names is not None else None
        self._series = frozenset(series) if series is not None else None
        self._on_step = on_step
        self._read_json = format in ("auto", "json")
        self._read_katib = format in ("auto", "katib")

    @property
    def last_step(self) -> int | None:
        """The highest step seen in any intermediate value."""
        steps = [step for step, _ in self.latest.values()]
        return max(steps) if steps else None

    def feed_text(self, text: str) -> None:
        """Feed a whole output text (lines separated by ``\\n``)."""
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()  # the text ends with a newline, or is empty
        for line in lines:
            self.feed(line)

    def feed_lines(self, lines: Iterable[Line]) -> None:
        """Feed lines from a `LineReader` (whose over-long lines come cut)."""
        for line in lines:
            self.feed(line.text, cut=line.dropped > 0)

    def feed(self, line: str, cut: bool = False) -> None:
        """Feed one output line; ``\\r`` splits it into segments that are each read.

        A line longer than ``MAX_LINE_CHARS`` (or one that arrives ``cut``) is read up to
        its last white space, so no value is taken from a cut-off number; a cut metric
        line in JSON is a problem.
        """
        self.lines += 1
        if len(line) > MAX_LINE_CHARS:
            line, cut = line[:MAX_LINE_CHARS], True
        if cut:
            if self._read_json and JSON_PREFIX in line:
                longer = f"longer than {MAX_LINE_CHARS} characters"
                self.add_problem(f"TRADEOFF_METRICS line is {longer}")
                return
            line = line[: max(0, max(line.rfind(" "), line.rfind("\t")))]
        if "\r" in line:
            for segment in line.split("\r"):
                self._read(segment)
        else:
            self._read(line)

    def merge(self, later: TrialOutput) -> None:
        """Add what `later` read from a later part of the same output (a log's tail, which
        may overlap what was read before): its final values win, and its intermediate
        values count from after the last step already held."""
        for name, value in later.final.items():
            if name in self.final or len(self.final) < MAX_METRICS:
                self.final[name] = value
                self.invalid.pop(name, None)
        for name, value in later.invalid.items():
            if name in self.invalid or len(self.invalid) < MAX_METRICS:
                self.final.pop(name, None)
                self.invalid[name] = value
        for name, (step, value) in later.latest.items():
            have = self.latest.get(name)
            if have is not None and step <= have[0]:
                continue
            for s, v in later.intermediate.get(name) or [(step, value)]:
                if have is None or s > have[0]:
                    self._step(name, s, v)
        for name, saved in later.artifacts.items():
            if name in self.artifacts or len(self.artifacts) < MAX_ARTIFACTS:
                self.artifacts[name] = saved
        for problem in later.problems:
            self.add_problem(problem.split(": ", 1)[-1], where="log tail")

    def apply_summary(self, text: str) -> None:
        """Take final values from a termination-message summary ``{"metrics": {...}}``."""
        if not text.strip():
            return
        try:
            summary = json.loads(text)
        except (ValueError, RecursionError) as error:
            self.add_problem(f"termination message is not valid JSON: {error}", where="summary")
            return
        metrics = summary.get("metrics") if isinstance(summary, dict) else None
        if not isinstance(metrics, dict):
            self.add_problem('termination message has no "metrics" object', where="summary")
            return
        for name, value in metrics.items():
            self._accept(name, value, None, where="summary")

    def _read(self, line: str) -> None:
        start = line.find(ARTIFACT_PREFIX)
        if start >= 0:
            self._read_artifact(line[start + len(ARTIFACT_PREFIX) :])
            return
        if self._read_json:
            start = line.find(JSON_PREFIX)
            if start >= 0:
                self._read_json_line(line[start + len(JSON_PREFIX) :])
                return
        if self._read_katib and "=" in line:
            pairs = katib_pairs(line)
            if pairs:
                self._read_katib_pairs(pairs)

    def _read_json_line(self, payload: str) -> None:
        read = read_json_metrics(payload)
        if isinstance(read, str):
            self.add_problem(read)
            return
        record, step = read
        for name, value in record.items():
            self._accept(name, value, step)

    def _read_artifact(self, payload: str) -> None:
        read = read_artifact(payload)
        if isinstance(read, str):
            self.add_problem(read)
            return
        name, size, sha = read
        if name not in self.artifacts and len(self.artifacts) >= MAX_ARTIFACTS:
            self.add_problem(f"more than {MAX_ARTIFACTS} artifacts; {name!r} not recorded")
            return
        self.artifacts[name] = (size, sha)

    def _read_katib_pairs(self, pairs: list[tuple[str, str]]) -> None:
        read = read_katib(pairs)
        if isinstance(read, str):
            self.add_problem(read)
            return
        values, step = read
        for name, number in values.items():
            self._accept(name, number, step)

    def _accept(self, name: object, value: object, step: int | None, where: str = "") -> None:
        if not isinstance(name, str) or not name or len(name) > 256:
            self.add_problem(f"bad metric name {short(repr(name))}", where)
            return
        if self._wanted is not None and name not in self._wanted:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.add_problem(f"metric {name!r} is not a number: {short(repr(value))}", where)
            return
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            # A diverged final value must not leave an older, finite one standing.
            if step is None:
                self.final.pop(name, None)
                if name in self.invalid or len(self.invalid) < MAX_METRICS:
                    self.invalid[name] = number
            self.add_problem(f"metric {name!r} is not finite: {number}", where)
            return
        if name not in self.final and len(self.final) >= MAX_METRICS:
            self.add_problem(f"more than {MAX_METRICS} metrics; {name!r} ignored", where)
            return
        self.final[name] = number
        self.invalid.pop(name, None)
        if step is not None:
            self._step(name, step, number)

    def _step(self, name: str, step: int, value: float) -> None:
        if name not in self.latest and len(self.latest) >= MAX_METRICS:
            return
        self.latest[name] = (step, value)
        self.steps += 1
        if self._series is None or name in self._series:
            series = self.intermediate.setdefault(name, [])
            series.append((step, value))
            if len(series) >= 2 * INTERMEDIATE_CAP:
                del series[:-INTERMEDIATE_CAP]  # amortised: trimmed once per cap values
        if self._on_step is not None:
            self._on_step(name, step, value)

    def series_of(self, name: str) -> list[tuple[int, float]]:
        """The last ``INTERMEDIATE_CAP`` intermediate values of a kept series."""
        return list((self.intermediate.get(name) or [])[-INTERMEDIATE_CAP:])

    def add_problem(self, message: str, where: str = "") -> None:
        """Record a problem (``where`` defaults to the current line); capped."""
        if len(self.problems) >= MAX_PROBLEMS:
            self.problems_dropped += 1
            return
        self.problems.append(f"{where or f'line {self.lines}'}: {message}")

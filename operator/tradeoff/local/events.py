"""What the executor tells the runner: intermediate values and ended attempts."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from typing import Any, Literal

from tradeoff.api.trial import Artifact

__all__ = [
    "AttemptResult",
    "Event",
    "Intermediate",
    "StopCause",
    "Wakeup",
    "command_line",
]

StopCause = Literal["deadline", "prune", "cancel", "interrupt"]
PYTHON_NAMES = frozenset({"python", "python3"})


@dataclass(frozen=True)
class Intermediate:
    """A trial printed an intermediate value (a metric line with a step)."""

    trial: str
    attempt: int
    metric: str
    step: int
    value: float


@dataclass(frozen=True)
class AttemptResult:
    """An attempt ended: how, what it measured and what it reported."""

    trial: str
    attempt: int
    exit_code: int | None
    """The exit code; negative: killed by that signal; None: the command never started."""
    duration_seconds: float
    cpu_seconds: float
    metrics: dict[str, float]
    problems: list[str] = field(default_factory=list)
    invalid: dict[str, float] = field(default_factory=dict)
    """Metrics whose final value was NaN or infinite."""
    last_stderr: str = ""
    stopped_for: StopCause | None = None
    start_error: str | None = None
    artifacts: list[Artifact] = field(default_factory=list)
    """The files the attempt saved (see `tradeoff.local.artifacts`)."""


@dataclass(frozen=True)
class Wakeup:
    """Nothing happened to a trial; the runner should look around (e.g. after a signal)."""

    reason: str = ""


Event = Intermediate | AttemptResult | Wakeup


def command_line(container: dict[str, Any]) -> list[str]:
    """The argv of a rendered container; ``python``/``python3`` become this interpreter.

    Raises ValueError when the container has no command (the image's entrypoint is not
    known outside a cluster) or the program cannot be found.
    """
    command = [str(c) for c in container.get("command") or []]
    if not command:
        raise ValueError(
            f"container {container.get('name')!r} has no command; local mode runs"
            " command + args and cannot know the image's entrypoint"
        )
    argv = command + [str(a) for a in container.get("args") or []]
    if argv[0] in PYTHON_NAMES:
        argv[0] = sys.executable
    elif shutil.which(argv[0]) is None:
        raise ValueError(f"command {argv[0]!r} not found on PATH")
    return argv

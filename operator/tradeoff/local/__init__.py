"""Local mode: `tradeoff run` runs a Study's trials as processes on this machine."""

from __future__ import annotations

from tradeoff.local.events import AttemptResult, Intermediate, command_line
from tradeoff.local.executor import LocalExecutor
from tradeoff.local.run_result import RunResult
from tradeoff.local.runner import StudyRunner
from tradeoff.local.store import FileStore, StoreError, default_workdir

__all__ = [
    "AttemptResult",
    "FileStore",
    "Intermediate",
    "LocalExecutor",
    "RunResult",
    "StoreError",
    "StudyRunner",
    "command_line",
    "default_workdir",
]

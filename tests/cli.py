"""Run the `tradeoff` command as a user would: a fresh process, this checkout's code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def tradeoff(
    *args: str, cwd: Path, columns: int = 200, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`tradeoff ARGS...` in `cwd`, output captured; `columns` wide, so lines do not wrap."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "operator"), str(REPO)])}
    env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "tradeoff.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )

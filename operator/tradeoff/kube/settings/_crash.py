"""Test-only crash points (`TRADEOFF_CRASH_AT`): exit the process at a named point."""

from __future__ import annotations

import os
import threading
from collections import Counter

from tradeoff.kube.settings._model import Settings
from tradeoff.kube.settings._values import count

CRASH_EXIT_CODE = 70
"""Exit code of a deliberate crash at a `TRADEOFF_CRASH_AT` point (tests only)."""

_reached: Counter[str] = Counter()
_reached_lock = threading.Lock()


def crash_point(settings: Settings, point: str) -> None:
    """Exit the process at once (no cleanup at all) if tests asked to crash the N-th time
    this process reaches `point` (`TRADEOFF_CRASH_AT=point` or `point:N`)."""
    wanted = settings.crash_at.get(point)
    if wanted is None:
        return
    with _reached_lock:
        _reached[point] += 1
        if _reached[point] == wanted:
            os._exit(CRASH_EXIT_CODE)


def parse_crash_at(text: str) -> dict[str, int]:
    """`point[:N],...` (N from 1, default 1) as {point: N}."""
    points: dict[str, int] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        point, _, times = item.partition(":")
        points[point] = count(times, f"TRADEOFF_CRASH_AT {item}") if times else 1
    return points

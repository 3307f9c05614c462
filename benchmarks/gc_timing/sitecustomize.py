"""Benchmark-only: a process started with this folder first on PYTHONPATH and `GC_LOG`
set appends, once a second, a JSON line to that file: its pid, the time, its CPU time
and, per generation, how many garbage collections ran and their seconds so far.

    python benchmarks/operator_scale.py --trials 10000 --objectives 2 \\
        --env PYTHONPATH=benchmarks/gc_timing:operator:. --env GC_LOG=/tmp/gc.jsonl

(the operator's child processes, such as the insight child, write lines too: tell them
apart by pid).
"""

from __future__ import annotations

import gc
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

_out = os.environ.get("GC_LOG")
_totals: dict[int, list[float]] = {0: [0, 0.0], 1: [0, 0.0], 2: [0, 0.0]}
_started: dict[str, float] = {}


def _timed(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started["t"] = time.perf_counter()
        return
    total = _totals[info["generation"]]
    total[0] += 1
    total[1] += time.perf_counter() - _started.get("t", time.perf_counter())


def _write(path: str) -> None:
    with Path(path).open("a") as f:
        while True:
            time.sleep(1.0)
            line = {"pid": os.getpid(), "t": time.time(), "cpu": time.process_time()}
            f.write(json.dumps({**line, "gc": {k: list(v) for k, v in _totals.items()}}) + "\n")
            f.flush()


if _out:
    gc.callbacks.append(_timed)
    threading.Thread(target=_write, args=(_out,), daemon=True).start()

"""The operator's garbage collector, set for a process that holds a study's records.

The operator keeps every Trial of its studies parsed (the watch store) and allocates a
few thousand short-lived objects per trial (watch events, API answers, kopf's state).
With Python's defaults a young collection runs every 700 allocations, and the objects
that outlive two of them are promoted to the oldest generation, whose collections scan
every object the process holds: in a 10,000-trial study garbage collection took 15-25%
of the operator's CPU (2.7-5.2 ms a trial, a full collection about every 250 trials).
Young collections every `YOUNG` allocations let most of those objects die first, and
the objects of the start-up (modules, classes, kopf's registry) are frozen: kept out of
every later collection.

The start-up itself runs without collections (`hold_collector`): its imports make about
120,000 objects that all live on, and collecting them as they came took about 0.1-0.2 s
of CPU at every start (297 young, 26 middle and 2 full collections) to find some 2,000
objects of garbage, which are frozen with the rest instead (a few hundred KiB).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG = 10_000
"""Allocations between young collections (Python's default: 700)."""


@contextlib.contextmanager
def hold_collector() -> Iterator[None]:
    """No garbage collection until `settle_collector` (or until the block ends, if the
    operator stops before it settles); the collector is left as it was found after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def settle_collector() -> None:
    """Freeze what the start-up made, space the young collections out, and collect from
    now on."""
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, oldest)
    gc.enable()

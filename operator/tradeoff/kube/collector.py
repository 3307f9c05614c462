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
"""

from __future__ import annotations

import gc

YOUNG = 10_000
"""Allocations between young collections (Python's default: 700)."""


def settle_collector() -> None:
    """Freeze what the start-up made and space the young collections out."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG, middle, oldest)

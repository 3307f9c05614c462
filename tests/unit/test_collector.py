"""The operator's garbage collector settings (`kube.collector`), in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys

CHECK = """
import gc, json
from tradeoff.kube.collector import YOUNG, settle_collector
before = gc.get_threshold()
settle_collector()
print(json.dumps({"before": before, "after": gc.get_threshold(), "young": YOUNG,
                  "frozen": gc.get_freeze_count()}))
"""


def test_the_start_up_is_frozen_and_young_collections_are_spaced_out() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found["before"][0] == 700  # Python's default, which the operator raises
    assert found["after"] == [found["young"], *found["before"][1:]]
    assert found["frozen"] > 10_000  # the modules imported, kept out of every collection


HOLD = """
import gc, json
from tradeoff.kube.collector import hold_collector, settle_collector
seen = {}
with hold_collector():
    seen["held"] = gc.isenabled()
    settle_collector()
    seen["settled"] = gc.isenabled()
seen["after"] = gc.isenabled()
with hold_collector():  # the operator stops before it settles: the collector is back after
    seen["held_again"] = gc.isenabled()
seen["back"] = gc.isenabled()
print(json.dumps(seen))
"""


def test_the_start_up_runs_without_collections_until_it_settles() -> None:
    out = subprocess.run([sys.executable, "-c", HOLD], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {
        "held": False,
        "settled": True,
        "after": True,
        "held_again": False,
        "back": True,
    }

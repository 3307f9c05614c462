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

"""What the operator process imports before it starts: not the kubernetes client's
manifest checker (`kubernetes_validate`, a test dependency), which it never uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from tradeoff.kube import command
assert "kubernetes" not in sys.modules  # the package's names are imported when asked for
command.import_kubernetes_client()
import tradeoff.kube.handlers, tradeoff.kube.run
print(sorted(m for m in ("kubernetes", "kopf", "kubernetes_validate", "jsonschema")
             if m in sys.modules))
import kubernetes_validate  # importable again for whoever needs it
"""


def test_the_operator_does_not_import_the_manifest_checker() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "operator"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['kopf',", "'kubernetes']"]

"""`tradeoff operator` under yappi (every thread, CPU clock), for `operator_scale.py --profile`.

On SIGUSR1 it writes the profile (pstats format) to the path in `TRADEOFF_PROFILE_OUT`
and a text summary beside it, then goes on running; the benchmark kills it afterwards.
"""

from __future__ import annotations

import io
import os
import signal
import sys
from pathlib import Path
from typing import Any

import yappi  # type: ignore[import-untyped]


def _dump(*_: Any) -> None:
    out = os.environ["TRADEOFF_PROFILE_OUT"]
    yappi.stop()
    stats = yappi.get_func_stats()
    stats.save(out, type="pstat")
    text = io.StringIO()
    import pstats

    report = pstats.Stats(out, stream=text)
    report.sort_stats("tottime").print_stats(40)
    report.sort_stats("cumulative").print_stats(60)
    Path(out + ".txt").write_text(text.getvalue())
    Path(out + ".done").write_text("done\n")


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, _dump)
    yappi.set_clock_type("cpu")
    yappi.start(builtins=False, profile_threads=True)
    from tradeoff.cli import main

    sys.exit(main(sys.argv[1:]))

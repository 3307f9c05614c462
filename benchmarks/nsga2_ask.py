"""NSGA-II's ask, interleaved in one process: the engine as it was, the engine now, raw Optuna.

On one NSGA-II history of N records: "before" is the engine building a sampler per ask and
leaving each generation's parent lookup to Optuna (a pass over every trial), "now" the
engine as it is, "raw" Optuna asking and telling on a study holding the same trials. The
three take turns ask by ask (each ask's record put into its own `RecordBook`), so they see
the same machine load; CPU ms per ask (`time.process_time`), median and mean, and how many
proposals of "before" and "now" were identical (all must be).

    python benchmarks/nsga2_ask.py --sizes 1000,5000 --asks 200
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c
import _latency
from engine_scale import optuna_study

from tradeoff.api import Trial
from tradeoff.engine.core import Engine, Suggestion
from tradeoff.engine.records import RecordBook
from tradeoff.engine.samplers import make_sampler

Ask = Callable[[], tuple[float, Suggestion | None]]


class EngineBefore(Engine):
    """The engine before 1 December 2026: a sampler built per ask, Optuna's parent lookups."""

    def _sampler(self, seed: int | None) -> Any:
        self._kept = None
        return super()._sampler(seed)

    def _remember_parents(self, sampler: Any) -> None:
        pass


def engine_side(engine: Engine, history: list[Trial]) -> Ask:
    book = RecordBook([r.model_copy(deep=True) for r in history])

    def one() -> tuple[float, Suggestion | None]:
        started = time.process_time()
        (s,) = engine.ask(book, 1)
        spent = time.process_time() - started
        book.put(_latency.finished(s.number, s.parameters, s.sampler_state))
        return spent, s

    one()  # warm-up, its record kept
    return one


def raw_side(engine: Engine, history: list[Trial]) -> Ask:
    study = optuna_study(engine, history, make_sampler(engine.spec, 0))

    def one() -> tuple[float, Suggestion | None]:
        started = time.process_time()
        trial = study.ask()
        params = engine.space.sample(trial)
        study.tell(trial, _latency.objectives(params))
        return time.process_time() - started, None

    one()
    return one


def measure(n: int, asks: int) -> dict[str, Any]:
    history = _latency.make_history("nsga2", n)
    spec = c.study_spec(_latency.PARAMETERS, _latency.OBJECTIVES, "nsga2", 0, n + 1000)
    sides = {
        "before": engine_side(EngineBefore(spec, study=c.STUDY, key=_latency.KEY), history),
        "now": engine_side(_latency.engine(spec), history),
        "raw": raw_side(_latency.engine(spec), history),
    }
    times: dict[str, list[float]] = {side: [] for side in sides}
    same = 0
    gc.collect()
    for _ in range(asks):
        proposed = {}
        for side, one in sides.items():
            spent, proposed[side] = one()
            times[side].append(spent)
        same += proposed["before"] == proposed["now"]
    row: dict[str, Any] = {"records": n, "asks": asks, "identical": same}
    for side, taken in times.items():
        row[side] = {"median": statistics.median(taken), "mean": statistics.mean(taken)}
    return row


def main(argv: Sequence[str] | None = None) -> int:
    def extra(p: Any) -> None:
        p.add_argument("--sizes", default="1000,5000", help="records, e.g. 1000,5000")
        p.add_argument("--asks", type=int, default=200, help="asks timed per side")
        p.add_argument("--name", default="nsga2_ask", help="name of the JSON file")

    args = c.parse_args(argv, __doc__.split("\n\n")[0], extra)
    sizes = [100] if args.quick else [int(s) for s in args.sizes.split(",")]
    asks = 10 if args.quick else args.asks
    rows = []
    for n in sizes:
        r = measure(n, asks)
        rows.append(r)
        shown = "; ".join(
            f"{side} {r[side]['median'] * 1000:.2f} / {r[side]['mean'] * 1000:.2f} ms"
            for side in ("before", "now", "raw")
        )
        print(f"  {n} records (median / mean): {shown}; identical {r['identical']} of {asks}")
        if r["identical"] != asks:
            raise SystemExit("the engine's proposals changed")

    def cell(r: dict[str, Any], side: str) -> str:
        return f"{r[side]['median'] * 1000:.2f} / {r[side]['mean'] * 1000:.2f}"

    def ratio(r: dict[str, Any], side: str) -> str:
        raw = r["raw"]
        return f"{r[side]['median'] / raw['median']:.2f}x / {r[side]['mean'] / raw['mean']:.2f}x"

    sides = ("before", "now", "raw")
    table = [
        [r["records"], *(cell(r, side) for side in sides), ratio(r, "before"), ratio(r, "now")]
        for r in rows
    ]
    c.print_table(
        "NSGA-II ask, CPU ms (median / mean), ratio to raw Optuna (median / mean)",
        ["records", "before", "now", "raw", "before / raw", "now / raw"],
        table,
    )
    c.write_results(args.out, args.name, {"results": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

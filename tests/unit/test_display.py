"""The end-of-run table `tradeoff run` and `tradeoff show` print."""

from __future__ import annotations

import io

from rich.console import Console

from tests.factories import make_spec, run
from tradeoff.engine import Engine
from tradeoff.local.result_tables import show_result


def _shown(objectives: list[dict[str, str]]) -> str:
    engine = Engine(make_spec(objectives=objectives, budget={"maxTrials": 4}))
    records = run(engine, lambda p: {"accuracy": p["x"], "cost": p["y"]}, 4)
    out = io.StringIO()
    console = Console(file=out, width=200)
    show_result(console, engine.spec, records, engine.summarize(records), "Study demo ended")
    return out.getvalue()


def test_the_front_title_counts_its_trials_in_words_that_agree() -> None:
    single = _shown([{"name": "accuracy", "direction": "maximize"}])
    assert "Pareto front (1 trial)" in single
    two = _shown(
        [{"name": "accuracy", "direction": "maximize"}, {"name": "cost", "direction": "minimize"}]
    )
    size = two.split("Pareto front (", 1)[1].split(" ", 1)[0]
    assert f"Pareto front ({size} trial{'s' * (size != '1')})" in two

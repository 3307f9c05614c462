"""`auto` from history: the space signature and the rule that may leave the fixed choice."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.factories import make_spec
from tradeoff.api import AlgorithmChoice, StudySpec, Trial
from tradeoff.engine.autohistory import (
    MARGIN,
    PastStudy,
    from_history,
    past_algorithm,
    space_signature,
    study_scores,
)
from tradeoff.engine.validation import choose_algorithm

MIXED = [
    {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
    {"name": "c", "type": "categorical", "values": ["a", "b"]},
]
LOSS = [{"name": "loss", "direction": "minimize"}]
TPE = AlgorithmChoice(name="tpe", reason="auto: categorical or conditional parameters")


def spec(**changes: Any) -> StudySpec:
    fields: dict[str, Any] = {
        "parameters": MIXED,
        "objectives": LOSS,
        "algorithm": {"name": "auto", "seed": 1},
    }
    return make_spec(**{**fields, **changes})


def past(name: str, algorithm: str, best: float, trials: int = 4) -> PastStudy:
    """A finished study whose best loss is `best`; every study also saw a loss of 1.0."""
    losses = [1.0, best] + [0.9] * (trials - 2)
    records = []
    for n, v in enumerate(losses):
        record = Trial.new(name, n, {"x": v, "c": "a"})
        record.status.state = "Succeeded"
        record.status.values = [v]
        records.append(record)
    return PastStudy(name, algorithm, records)


def history(good: str, bad: str, count: int = 3, lead: float = 0.5) -> list[PastStudy]:
    return [past(f"{good}-{i}", good, 0.0) for i in range(count)] + [
        past(f"{bad}-{i}", bad, lead) for i in range(count)
    ]


# -- the signature ---------------------------------------------------------------------
def test_the_signature_is_stable_and_ignores_what_is_not_the_space() -> None:
    base = space_signature(spec())
    assert base == space_signature(spec())
    assert base == space_signature(spec(parameters=list(reversed(MIXED))))
    assert len(base) == 16 and int(base, 16) >= 0
    other = spec(algorithm={"name": "nsga2", "seed": 9}, budget={"maxTrials": 99})
    assert space_signature(other) == base


@pytest.mark.parametrize(
    "change",
    [
        {"name": "z"},
        {"type": "int", "low": 0, "high": 1},
        {"low": 0.1},
        {"high": 2.0},
        {"low": 0.1, "log": True},
        {"step": 0.5},
    ],
)
def test_the_signature_changes_with_each_part_of_a_numeric_parameter(
    change: dict[str, Any],
) -> None:
    changed = [{**MIXED[0], **change}, MIXED[1]]
    assert space_signature(spec(parameters=changed)) != space_signature(spec())


def test_the_signature_changes_with_choices_conditions_and_objectives() -> None:
    base = space_signature(spec())
    choices = [MIXED[0], {**MIXED[1], "values": ["a", "b", "c"]}]
    conditional = [{**MIXED[0], "when": {"c": ["a"]}}, MIXED[1]]
    assert space_signature(spec(parameters=choices)) != base
    assert space_signature(spec(parameters=conditional)) != base
    assert space_signature(spec(objectives=[{"name": "loss", "direction": "maximize"}])) != base
    assert space_signature(spec(objectives=[{"name": "err", "direction": "minimize"}])) != base
    two = [*LOSS, {"name": "cost", "direction": "minimize"}]
    assert space_signature(spec(objectives=two)) != base


# -- the rule --------------------------------------------------------------------------
def test_no_history_keeps_the_fixed_rule() -> None:
    assert from_history(spec(), TPE, []) == TPE


def test_a_clear_lead_over_three_studies_each_changes_the_choice() -> None:
    chosen = from_history(spec(), TPE, history("nsga2", "tpe"))
    assert chosen.name == "nsga2"
    assert chosen.reason.startswith("auto from history: 6 finished studies of this space")
    assert "nsga2 did better, at 4 trials" in chosen.reason
    assert "nsga2 median 1.000 over 3 (nsga2-0, nsga2-1, nsga2-2)" in chosen.reason
    assert "against tpe median 0.545 over 3 (tpe-0, tpe-1, tpe-2)" in chosen.reason
    assert "the fixed rule said tpe: categorical or conditional parameters" in chosen.reason


def test_two_studies_each_are_not_enough() -> None:
    chosen = from_history(spec(), TPE, history("nsga2", "tpe", count=2))
    assert chosen.name == "tpe"
    assert chosen.reason == (
        f"{TPE.reason}; history: 4 finished studies of this space (2 nsga2, 2 tpe),"
        " needs 3 of tpe and of another algorithm"
    )


def test_a_lead_within_the_margin_keeps_the_fixed_rule() -> None:
    close = history("nsga2", "tpe", lead=0.01)  # a share of 1.09 / 1.1 = 0.991
    chosen = from_history(spec(), TPE, close)
    assert chosen.name == "tpe"
    assert f"nsga2 not ahead beyond noise (lead 0.009 <= {MARGIN}" in chosen.reason


def test_overlapping_results_keep_the_fixed_rule() -> None:
    studies = history("nsga2", "tpe")
    studies[0] = past("nsga2-0", "nsga2", 0.8)  # one nsga2 study worse than every tpe one
    chosen = from_history(spec(), TPE, studies)
    assert chosen.name == "tpe"
    assert "nsga2 not ahead beyond noise (overlap;" in chosen.reason


def test_ties_between_rivals_go_by_name_and_a_tie_with_the_rule_keeps_it() -> None:
    studies = history("random", "tpe") + [past(f"qmc-{i}", "qmc", 0.0) for i in range(3)]
    assert from_history(spec(), TPE, studies).name == "qmc"
    level = [past(f"tpe-{i}", "tpe", 0.0) for i in range(3)]
    level += [past(f"qmc-{i}", "qmc", 0.0) for i in range(3)]
    assert from_history(spec(), TPE, level).name == "tpe"


def test_an_algorithm_that_cannot_run_this_study_is_not_chosen() -> None:
    # cmaes needs numeric parameters: this space has a categorical one.
    chosen = from_history(spec(), TPE, history("cmaes", "tpe"))
    assert chosen.name == "tpe"
    assert "needs 3 of tpe and of another algorithm" in chosen.reason


def test_studies_are_compared_at_the_budget_they_share() -> None:
    # The tpe studies found their best later than trial 3: at 3 trials nsga2 is ahead.
    late = []
    for i in range(3):
        study = past(f"tpe-{i}", "tpe", 0.5, trials=6)
        study.records[5].status.values = [-1.0]
        late.append(study)
    early = [past(f"nsga2-{i}", "nsga2", 0.0, trials=3) for i in range(3)]
    scores, budget = study_scores(spec(), late + early)
    assert budget == 3
    assert scores["nsga2-0"] == 1.0 and scores["tpe-0"] < 1.0
    assert from_history(spec(), TPE, late + early).name == "nsga2"


def test_a_study_without_a_completed_trial_is_left_out() -> None:
    failed = past("random-0", "random", 0.0)
    for record in failed.records:
        record.status.state = "Failed"
        record.status.values = None
    chosen = from_history(spec(), TPE, [failed, *history("nsga2", "tpe")])
    assert chosen.name == "nsga2"
    assert "history: 6 finished studies of this space (3 nsga2, 3 tpe)" in chosen.reason
    assert from_history(spec(), TPE, [failed]) == TPE


def test_the_algorithm_a_past_study_ran() -> None:
    assert past_algorithm("nsga2", None) == "nsga2"
    assert past_algorithm("auto", TPE) == "tpe"
    assert past_algorithm("auto", None) is None


# -- when history is read ----------------------------------------------------------------
def _never() -> Sequence[PastStudy]:
    raise AssertionError("history must not be read")


def test_history_is_read_only_to_resolve_auto_for_the_first_time() -> None:
    recorded = TPE.model_copy(update={"reason": "recorded when the study started"})
    assert choose_algorithm(spec(), recorded, None, _never) is recorded  # a restart
    named = choose_algorithm(spec(algorithm={"name": "random"}), None, None, _never)
    assert named.name == "random"
    chosen = choose_algorithm(spec(), None, None, lambda: history("nsga2", "tpe"))
    assert chosen.name == "nsga2"

"""Proposals: each rule on hand-made insights, and the budget from convergence."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.factories import make_spec, manifest
from tradeoff.api.status import Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.proposal import Proposal, propose
from tradeoff.engine.proposal_budget import convergence, next_budget
from tradeoff.engine.validation import validate_study
from tradeoff.results.propose import next_name

SOURCE = {"name": "earlier"}
ONE = [{"name": "score", "direction": "maximize"}]
TEMPLATE = {
    "pod": {
        "containers": [
            {"name": "trial", "image": "x", "args": ["--x=${params.x}", "--y", "${params.y}"]}
        ]
    }
}


def spec(parameters: list[dict[str, Any]], **more: Any) -> StudySpec:
    fields: dict[str, Any] = {"objectives": ONE, "parameters": parameters}
    return make_spec(trialTemplate=copy.deepcopy(TEMPLATE), **{**fields, **more})


def trial(number: int, params: dict[str, Any], score: float) -> Trial:
    r = Trial.new("demo", number, params)
    r.status.state = "Succeeded"
    r.status.values = [score]
    r.status.feasible = True
    return r


def edge(name: str, side: str, best: float) -> Insight:
    evidence: dict[str, float | int | str] = {"side": side, "best": best, "topTrials": 4}
    return Insight(kind="edge", subject=name, objective="score", message="m", evidence=evidence)


def no_effect(name: str) -> Insight:
    return Insight(kind="no-effect", subject=name, message=f"{name}: no effect", evidence={})


def never(name: str, value: str) -> Insight:
    subject = f"{name}={value}"
    return Insight(
        kind="never-on-front", subject=subject, message="never", evidence={"value": value}
    )


def valid(p: Proposal) -> StudySpec:
    """The proposal passes the same validation as `tradeoff validate`."""
    doc = manifest(**p.spec)
    doc["metadata"]["name"] = "next"
    return validate_study(doc).spec


def param(p: Proposal, name: str) -> dict[str, Any]:
    return next(q for q in p.spec["parameters"] if q["name"] == name)


X = {"name": "x", "type": "float", "low": 0.0, "high": 4.0}
Y = {"name": "y", "type": "int", "low": 1, "high": 9}
FRACTION = {"name": "y", "type": "float", "low": 0.0, "high": 1.0}
LOG = {"name": "y", "type": "float", "low": 0.01, "high": 1000.0, "log": True}
KIND = {"name": "kind", "type": "categorical", "values": ["a", "b", "c"]}
RECORDS = [trial(0, {"x": 1.0, "y": 3, "kind": "a"}, 1.0), trial(1, {"x": 2.0, "y": 4}, 2.0)]


def test_nothing_to_say_changes_nothing_but_the_warm_start() -> None:
    s = spec([X, Y])
    p = propose(s, RECORDS, [], SOURCE)
    assert [c.field for c in p.changes] == ["warmStart.fromStudies"]
    assert p.spec["warmStart"] == {"fromStudies": [SOURCE]}
    again = valid(p)
    assert again.parameters == s.parameters
    assert again.trial_template == s.trial_template
    assert again.budget == s.budget


def test_an_edge_widens_that_bound_by_the_range_s_width() -> None:
    p = propose(spec([X, Y]), RECORDS, [edge("x", "high", 3.9)], SOURCE)
    assert (param(p, "x")["low"], param(p, "x")["high"]) == (0.0, 8.0)
    assert p.changes[0].field == "parameters.x"
    assert "widened [0, 4] to [0, 8]" in p.changes[0].message
    valid(p)


def test_a_low_edge_stops_at_zero_and_an_int_stays_whole() -> None:
    p = propose(spec([X, Y]), RECORDS, [edge("y", "low", 1), edge("y", "high", 9)], SOURCE)
    assert (param(p, "y")["low"], param(p, "y")["high"]) == (0, 17)
    assert valid(p).parameters[1].type == "int"


def test_a_log_range_widens_by_a_factor() -> None:
    p = propose(spec([X, LOG]), RECORDS, [edge("y", "high", 900.0)], SOURCE)
    assert (param(p, "y")["low"], param(p, "y")["high"]) == (0.01, 10000.0)
    assert "by a factor of 10" in p.changes[0].message
    valid(p)


def test_a_fraction_is_not_widened_beyond_one() -> None:
    p = propose(spec([X, FRACTION]), RECORDS, [edge("y", "high", 0.99)], SOURCE)
    assert (param(p, "y")["low"], param(p, "y")["high"]) == (0.0, 1.0)
    assert p.changes[0].message.startswith("kept [0, 1]")


def test_no_effect_fixes_the_recommended_value_in_the_template() -> None:
    p = propose(spec([X, Y]), RECORDS, [no_effect("y")], SOURCE)
    assert [q["name"] for q in p.spec["parameters"]] == ["x"]
    args = p.spec["trialTemplate"]["pod"]["containers"][0]["args"]
    assert args == ["--x=${params.x}", "--y", "4"]  # trial 1 is the best (score 2)
    assert "fixed to 4" in p.changes[0].message
    valid(p)


def test_no_effect_on_a_parameter_the_template_never_names_keeps_it_as_one_value() -> None:
    z = {"name": "z", "type": "float", "low": 0.0, "high": 1.0}
    records = [trial(0, {"x": 1.0, "y": 3, "z": 0.25}, 1.0)]
    p = propose(spec([X, Y, z]), records, [no_effect("z")], SOURCE)
    assert param(p, "z") == {"name": "z", "type": "categorical", "values": [0.25]}
    assert "TRADEOFF_PARAMS" in p.changes[0].message
    valid(p)


def test_no_effect_is_kept_when_a_when_names_it_or_it_is_the_last() -> None:
    kind = {"name": "kind", "type": "categorical", "values": ["a", "b"]}
    dependent = {**Y, "when": {"kind": ["a"]}}
    p = propose(spec([X, kind, dependent]), RECORDS, [no_effect("kind")], SOURCE)
    assert param(p, "kind")["values"] == ["a", "b"]
    assert p.changes[0].message.startswith("kept (the `when` of y names it)")
    assert p.changes[0].kept and not any(c.kept for c in p.changes[1:])  # counted apart
    p = propose(make_spec(objectives=ONE, parameters=[X]), RECORDS, [no_effect("x")], SOURCE)
    assert param(p, "x") == X
    assert "last parameter" in p.changes[0].message and p.changes[0].kept


def test_a_value_never_on_the_front_is_dropped_but_never_the_last() -> None:
    p = propose(spec([X, Y, KIND]), RECORDS, [never("kind", "b")], SOURCE)
    assert param(p, "kind")["values"] == ["a", "c"]
    assert p.changes[0].message.startswith("dropped b;")
    valid(p)
    p = propose(spec([X, Y, KIND]), RECORDS, [never("kind", v) for v in "abc"], SOURCE)
    assert param(p, "kind")["values"] == ["c"]
    assert p.changes[-2].message.startswith("kept c (the only value left)")


def test_a_dropped_value_leaves_the_when_lists_that_name_it() -> None:
    dependent = {**Y, "when": {"kind": ["b", "c"]}}
    p = propose(spec([X, KIND, dependent]), RECORDS, [never("kind", "b")], SOURCE)
    assert param(p, "y")["when"] == {"kind": ["c"]}
    valid(p)
    only_b = {**Y, "when": {"kind": ["b"]}}
    p = propose(spec([X, KIND, only_b]), RECORDS, [never("kind", "b")], SOURCE)
    assert param(p, "kind")["values"] == ["a", "b", "c"]
    assert "y is active only with it" in p.changes[0].message


def test_the_warm_start_keeps_earlier_sources_and_points_that_still_fit() -> None:
    warm = {
        "fromStudies": [{"name": "first"}],
        "trials": [{"parameters": {"x": 1.0, "y": 2}}],
    }
    p = propose(spec([X, Y], warmStart=warm), RECORDS, [no_effect("y")], SOURCE)
    assert p.spec["warmStart"]["fromStudies"] == [{"name": "first"}, SOURCE]
    assert p.spec["warmStart"]["trials"] == [{"parameters": {"x": 1.0}}]
    valid(p)
    again = propose(valid(p), RECORDS, [], SOURCE)
    assert again.spec["warmStart"]["fromStudies"] == [{"name": "first"}, SOURCE]


def scores(values: list[float]) -> list[Trial]:
    return [trial(i, {"x": 1.0, "y": 1}, v) for i, v in enumerate(values)]


def test_convergence_is_where_the_best_value_settled() -> None:
    s = spec([X, Y], budget={"maxTrials": 40})
    settled = [1.0, 5.0, 9.0, 10.0] + [2.0] * 36  # 10 at trial 4, then nothing better
    assert convergence(s, scores(settled)) == (4, 40)
    assert next_budget(s, scores(settled)) == (
        10,
        "40 -> 10: the best value was within 1% of its final value after 4 of 40 trials:"
        " about as many again, warm-started (at least 10)",
    )
    late = [float(i) for i in range(30)] + [0.0] * 10  # best at trial 30 of 40
    assert convergence(s, scores(late)) == (30, 40)
    found = next_budget(s, scores(late))
    assert found is not None and found[0] == 30 and "after 30 of 40 trials" in found[1]
    improving = [float(i) for i in range(40)]
    found = next_budget(spec([X, Y], budget={"maxTrials": 60}), scores(improving))
    assert found is not None and found[0] == 40
    assert "still improved after trial 40 of 40" in found[1]
    found = next_budget(spec([X, Y], budget={"maxTrials": 40}), scores(improving))
    assert found is not None and found[0] == 40 and found[1].startswith("kept 40: ")
    assert next_budget(s, scores([1.0, 2.0, 3.0])) is None  # too few to tell


def test_convergence_of_several_objectives_follows_the_hypervolume() -> None:
    two = [{"name": "a", "direction": "maximize"}, {"name": "b", "direction": "minimize"}]
    s = make_spec(objectives=two, budget={"maxTrials": 30})
    points = [(0.1, 0.9), (0.5, 0.5), (0.9, 0.1)] + [(0.2, 0.8)] * 27
    records = []
    for i, (a, b) in enumerate(points):
        r = trial(i, {"x": 0.5, "y": 0.5}, 0.0)
        r.status.values = [a, b]
        records.append(r)
    assert convergence(s, records) == (3, 30)
    budget = next_budget(s, records)
    assert budget is not None and budget[0] == 10 and "the hypervolume" in budget[1]


@pytest.mark.parametrize(
    ("name", "after"),
    [("svm", "svm-2"), ("svm-2", "svm-3"), ("a-9", "a-10"), ("x" * 52, "x" * 50 + "-2")],
)
def test_the_next_name_counts_up(name: str, after: str) -> None:
    assert next_name(name) == after


def cheaper(name: str, label: str) -> Insight:
    evidence: dict[str, float | int | str] = {"cheaperValues": label}
    return Insight(kind="cheaper-resource", subject=name, message="cheap", evidence=evidence)


def test_a_cheaper_half_that_loses_nothing_narrows_the_range() -> None:
    p = propose(spec([X, Y]), RECORDS, [cheaper("x", "<= 2.5")], SOURCE)
    assert (param(p, "x")["low"], param(p, "x")["high"]) == (0.0, 2.5)
    assert p.changes[0].message.startswith("narrowed [0, 4] to [0, 2.5], its cheaper half;")
    valid(p)
    p = propose(spec([X, Y]), RECORDS, [cheaper("y", ">= 4.5")], SOURCE)
    assert (param(p, "y")["low"], param(p, "y")["high"]) == (5, 9)
    valid(p)
    # An edge on the same range wins; a categorical cheaper value narrows nothing.
    found = [edge("x", "high", 3.9), cheaper("x", "<= 2.5")]
    p = propose(spec([X, Y]), RECORDS, found, SOURCE)
    assert param(p, "x")["high"] == 8.0
    p = propose(spec([X, Y, KIND]), RECORDS, [cheaper("kind", "= a")], SOURCE)
    assert param(p, "kind") == KIND


def test_a_parameter_fixed_as_one_value_is_not_widened_too() -> None:
    z = {"name": "z", "type": "float", "low": 0.0, "high": 1.0}
    records = [trial(0, {"x": 1.0, "y": 3, "z": 0.95}, 1.0)]
    found = [no_effect("z"), edge("z", "high", 0.95), cheaper("z", "<= 0.5")]
    p = propose(spec([X, Y, z]), records, found, SOURCE)
    assert param(p, "z") == {"name": "z", "type": "categorical", "values": [0.95]}
    valid(p)

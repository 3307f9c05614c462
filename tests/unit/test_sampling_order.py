"""The sampling order of conditional parameters: the same as round-by-round placement, in
time linear in the parameters (a chain of 20,000 conditions took minutes)."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeoff.api.errors import SpecProblem
from tradeoff.api.space import Parameter, ordered_for_sampling


def _round_by_round(parameters: Sequence[Parameter]) -> list[Parameter] | None:
    """The reference: each round places every parameter whose conditions name earlier
    rounds only, in manifest order; None where some never can be placed."""
    placed: dict[str, Parameter] = {}
    pending = list(parameters)
    while pending:
        ready = [p for p in pending if all(dep in placed for dep in (p.when or {}))]
        if not ready:
            return None
        for p in ready:
            placed[p.name] = p
        pending = [p for p in pending if p.name not in placed]
    return list(placed.values())


def _categorical(name: str, when: dict[str, list[str]] | None = None) -> Parameter:
    return Parameter.model_validate(
        {"name": name, "type": "categorical", "values": ["a", "b"], "when": when}
    )


@st.composite
def _spaces(draw: st.DrawFn) -> list[Parameter]:
    count = draw(st.integers(1, 12))
    names = [f"p{i}" for i in range(count)]
    parameters = []
    for name in draw(st.permutations(names)):
        deps = draw(st.lists(st.sampled_from([*names, "ghost"]), max_size=3, unique=True))
        deps = [d for d in deps if d != name]
        parameters.append(_categorical(name, {d: ["a"] for d in deps} or None))
    return parameters


@settings(max_examples=400, deadline=None)
@given(_spaces())
def test_the_order_is_the_round_by_round_one(parameters: list[Parameter]) -> None:
    expected = _round_by_round(parameters)
    if expected is None:
        with pytest.raises(SpecProblem, match="cycle"):
            ordered_for_sampling(parameters)
    else:
        assert [p.name for p in ordered_for_sampling(parameters)] == [p.name for p in expected]


def test_a_long_chain_of_conditions_is_ordered_in_linear_time() -> None:
    chain = [_categorical("p0")] + [
        _categorical(f"p{i}", {f"p{i - 1}": ["a"]}) for i in range(1, 20_000)
    ]
    start = time.process_time()
    ordered = ordered_for_sampling(list(reversed(chain)))
    assert time.process_time() - start < 2
    assert [p.name for p in ordered] == [p.name for p in chain]


def test_a_cycle_names_at_most_ten_parameters() -> None:
    ring = [_categorical(f"p{i}", {f"p{(i + 1) % 500}": ["a"]}) for i in range(500)]
    with pytest.raises(SpecProblem) as caught:
        ordered_for_sampling(ring)
    message = str(caught.value)
    assert message.endswith("cycle: p0, p1, p2, p3, p4, p5, p6, p7, p8, p9 and 490 more")

"""Search spaces are counted and enumerated arithmetically: memory and time follow the
manifest, never the number of values a range holds."""

from __future__ import annotations

import random
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import KEY, make_spec
from tradeoff.api.space import Parameter, is_active
from tradeoff.cli import main
from tradeoff.engine import Engine
from tradeoff.engine.space import SearchSpace, config_key
from tradeoff.validate import load_study

HUGE = sorted((Path(__file__).parent / "manifests" / "huge").glob("*.yaml"))
MEGABYTE = 1 << 20


@pytest.mark.parametrize("path", HUGE, ids=[p.stem for p in HUGE])
def test_validate_answers_at_once_on_huge_spaces(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracemalloc.start()
    started = time.process_time()
    code = main(["validate", str(path)])
    seconds = time.process_time() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    _, err = capsys.readouterr()
    assert seconds < 1.0 and peak < 20 * MEGABYTE, (seconds, peak)
    if path.stem == "big-grid":
        assert code == 2
        assert "the grid has 1e+10 points" in err and "Traceback" not in err
    else:
        assert code == 0, err


@pytest.mark.parametrize("name", ["int-range", "fine-step"])
def test_the_engine_runs_huge_spaces_in_small_memory(name: str) -> None:
    study = load_study(Path(__file__).parent / "manifests" / "huge" / f"{name}.yaml")
    tracemalloc.start()
    engine = Engine(study.spec, key=KEY)
    suggestions = engine.ask([], 4)
    assert not engine.exhausted([])
    decision = engine.stop_decision([])
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(suggestions) == 4 and decision is None
    assert peak < 20 * MEGABYTE, peak
    assert engine.space.size is not None and engine.space.size > 10**9


def brute_force(parameters: list[Parameter]) -> set[Any] | None:
    """Every configuration by listing (small spaces only), or None if one is continuous."""
    space = SearchSpace(parameters)
    configs: list[dict[str, Any]] = [{}]
    for p in space.parameters:
        grown = []
        for chosen in configs:
            if not is_active(p, chosen):
                grown.append(chosen)
                continue
            n = p.value_count()
            if n is None:
                return None
            grown += [{**chosen, p.name: p.value_at(i)} for i in range(n)]
        configs = grown
    return {config_key(c) for c in configs}


@st.composite
def conditional_spaces(draw: st.DrawFn) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    categorical: list[tuple[str, list[str]]] = []
    for i in range(draw(st.integers(min_value=1, max_value=5))):
        name = f"p{i}"
        kind = draw(st.sampled_from(["categorical", "int", "float-step", "float"]))
        if kind == "categorical":
            values = [f"v{j}" for j in range(draw(st.integers(min_value=1, max_value=4)))]
            param: dict[str, Any] = {"name": name, "type": "categorical", "values": values}
        elif kind == "int":
            low = draw(st.integers(min_value=-3, max_value=3))
            high = low + draw(st.integers(min_value=1, max_value=4))
            step = draw(st.integers(min_value=1, max_value=2))
            param = {"name": name, "type": "int", "low": low, "high": high, "step": step}
        elif kind == "float-step":
            param = {"name": name, "type": "float", "low": 0.0, "high": 1.0, "step": 0.25}
        else:
            param = {"name": name, "type": "float", "low": 0.0, "high": 1.0}
        if categorical and draw(st.booleans()):
            dep, values = draw(st.sampled_from(categorical))
            allowed = draw(st.lists(st.sampled_from(values), min_size=1, unique=True))
            param["when"] = {dep: allowed}
        if kind == "categorical":
            categorical.append((name, param["values"]))
        params.append(param)
    return params


@settings(max_examples=150, deadline=None)
@given(conditional_spaces(), st.integers(min_value=0, max_value=10**6))
def test_counting_and_decoding_match_listing_every_configuration(
    raw: list[dict[str, Any]], seed: int
) -> None:
    spec = make_spec(parameters=raw)
    space = SearchSpace(spec.parameters)
    listed = brute_force(list(spec.parameters))
    rng = random.Random(seed)
    decoded = [space.config_at(i, rng) for i in range(space.skeleton_size)]
    if listed is None:
        assert space.size is None and space.open
        assert len({config_key(c) for c in decoded}) == space.skeleton_size
    else:
        assert space.size == space.skeleton_size == len(listed)
        assert {config_key(c) for c in decoded} == listed
    for config in decoded:  # every decoded configuration is one Optuna accepts
        kept, _ = space.known(config)
        assert kept == config


def test_counting_is_linear_in_conditioning_parameters() -> None:
    """Twelve nested conditional choices of 50 values each: counted at once."""
    params: list[dict[str, Any]] = []
    for i in range(12):
        p: dict[str, Any] = {
            "name": f"c{i}",
            "type": "categorical",
            "values": [f"v{j}" for j in range(50)],
        }
        if i:
            p["when"] = {f"c{i - 1}": [f"v{j}" for j in range(25)]}
        params.append(p)
    started = time.process_time()
    space = SearchSpace(make_spec(parameters=params).parameters)
    assert time.process_time() - started < 0.5
    expected = sum(25**k * 25 for k in range(11)) + 25**11 * 50
    assert space.size == expected
    last = space.config_at(expected - 1, random.Random(0))
    assert last == {"c0": "v49"}  # values that activate the next choice come first


KNOWN_SPACE = SearchSpace(
    make_spec(
        parameters=[
            {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
            {"name": "lr", "type": "float", "low": 1e-4, "high": 1.0, "log": True},
            {"name": "s", "type": "float", "low": 0.0, "high": 1.0, "step": 0.25},
            {"name": "n", "type": "int", "low": 1, "high": 9},
            {"name": "e", "type": "int", "low": 0, "high": 10, "step": 2},
            {"name": "c", "type": "categorical", "values": ["a", 1, 2.5, True]},
        ]
    ).parameters
)
ODD_VALUES = st.one_of(
    st.floats(min_value=-2, max_value=12),
    st.integers(min_value=-2, max_value=12),
    st.sampled_from(["a", "b", "", 1, 1.0, 2.5, True, False, None, 0.25, 2.0, float("nan")]),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(params=st.dictionaries(st.sampled_from(["x", "lr", "s", "n", "e", "c", "gone"]), ODD_VALUES))
def test_the_quick_check_of_a_records_parameters_keeps_what_optunas_does(
    params: dict[str, Any],
) -> None:
    """`known`'s quick path (range checks, set membership, distributions made once per set
    of names) keeps exactly the values and distributions Optuna's own checks keep."""
    quick = KNOWN_SPACE.known(params)
    assert quick == KNOWN_SPACE._known_each(params)
    assert list(quick[0]) == list(quick[1])  # the same names, in the record's order

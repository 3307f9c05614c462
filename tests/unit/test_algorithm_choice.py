"""`auto` is resolved once, when a study starts, recorded with its reason and then kept."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from typing import Any

import optuna
import pytest

from tests.factories import make_spec
from tests.unit.test_kube_status import study_obj
from tradeoff.api import AlgorithmChoice, ManifestError, StudyStatus
from tradeoff.engine import Engine, resolve_algorithm
from tradeoff.engine import validation as engine_validation
from tradeoff.engine.samplers import make_sampler, with_algorithm
from tradeoff.engine.validation import (
    choose_algorithm,
    engine_problems,
    recorded_problem,
    validate_study,
)
from tradeoff.kube.reconcile import plan_study
from tradeoff.kube.status import get_condition

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=30)
NUMERIC = [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}]
NO_TORCH = "gp needs PyTorch: pip install 'tradeoff[gp]'"
GP = AlgorithmChoice(name="gp", reason="auto: numeric unconditional space", resolved_at=T0)


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as one where PyTorch is not installed."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "torch" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.fixture
def resolves_to_qmc(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as one where `auto` would now resolve to something else."""
    other = AlgorithmChoice(name="qmc", reason="auto: another environment")
    monkeypatch.setattr(engine_validation, "resolve_algorithm", lambda spec: other)


def auto_spec(**spec: Any) -> Any:
    return make_spec(parameters=NUMERIC, algorithm={"name": "auto", "seed": 3}, **spec)


def auto_obj(status: StudyStatus | None = None) -> dict[str, Any]:
    obj = study_obj(status=status.wire() if status else None)
    obj["spec"]["algorithm"] = {"name": "auto", "seed": 3}
    return obj


# -- resolving -------------------------------------------------------------------------
def test_resolving_gives_the_name_and_the_reason(without_torch: None) -> None:
    explicit = resolve_algorithm(make_spec(algorithm={"name": "nsga2"}))
    assert (explicit.name, explicit.reason) == ("nsga2", "set in spec.algorithm.name")
    auto = resolve_algorithm(auto_spec())
    assert (auto.name, auto.reason) == ("tpe", "auto: PyTorch is not installed (gp needs it)")
    assert auto.resolved_at is None


def test_gp_is_chosen_where_pytorch_is_installed() -> None:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("PyTorch is not installed here (the gp extra)")  # pragma: no cover
    chosen = resolve_algorithm(auto_spec())
    assert chosen.name == "gp"
    assert chosen.reason == "auto: numeric unconditional space, 2 objectives, maxTrials 20 <= 200"


# -- choosing once ---------------------------------------------------------------------
def test_the_recorded_choice_is_kept_while_the_spec_asks_for_auto(resolves_to_qmc: None) -> None:
    spec = auto_spec()
    assert choose_algorithm(spec, GP, T1) is GP
    fresh = choose_algorithm(spec, None, T1)
    assert (fresh.name, fresh.resolved_at) == ("qmc", T1)


def test_a_spec_naming_another_algorithm_is_resolved_afresh() -> None:
    spec = make_spec(parameters=NUMERIC, algorithm={"name": "random"})
    chosen = choose_algorithm(spec, GP, T1)
    assert (chosen.name, chosen.reason, chosen.resolved_at) == (
        "random",
        "set in spec.algorithm.name",
        T1,
    )
    same = make_spec(parameters=NUMERIC, algorithm={"name": "gp"})
    assert choose_algorithm(same, GP, T1) is GP


def test_the_engine_runs_the_recorded_algorithm(resolves_to_qmc: None) -> None:
    spec = auto_spec()
    engine = Engine(spec, "random")
    assert engine.algorithm == "random" and engine.spec.algorithm.name == "random"
    assert spec.algorithm.name == "auto"  # the caller's spec is untouched
    assert isinstance(make_sampler(engine.spec, 1), optuna.samplers.RandomSampler)
    first = engine.ask([], 2)
    assert [s.parameters for s in first] == [
        s.parameters for s in Engine(spec, "random").ask([], 2)
    ]


def test_a_recorded_algorithm_that_cannot_run_here_is_one_line(without_torch: None) -> None:
    spec = auto_spec()
    line = f"gp, chosen when the study started, cannot run here: {NO_TORCH}"
    assert recorded_problem(spec, GP) == line
    assert engine_problems(spec, GP) == [("status.algorithm", line)]
    assert engine_problems(spec) == []  # a new study would simply get tpe here
    document = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "demo"},
        "spec": spec.model_dump(mode="json", by_alias=True, exclude_none=True),
    }
    with pytest.raises(ManifestError) as caught:
        validate_study(document, "demo.yaml", recorded=GP)
    assert caught.value.problems == [f"demo.yaml: status.algorithm: {line}"]
    named = with_algorithm(spec, "gp")
    assert engine_problems(named, GP) == [("spec.algorithm.name", NO_TORCH)]


# -- the operator ------------------------------------------------------------------------
def test_the_operator_records_the_choice_when_the_study_starts() -> None:
    plan = plan_study(auto_obj(), [], T0)
    chosen = plan.status.algorithm
    assert chosen is not None and plan.algorithm == chosen.name
    expected = resolve_algorithm(validate_study(auto_obj()).spec)
    assert chosen == expected.model_copy(update={"resolved_at": T0})
    assert chosen.reason.startswith("auto: ")
    wire = plan.status.wire()["algorithm"]
    when = "2026-01-01T12:00:00Z"
    assert wire == {"name": chosen.name, "reason": chosen.reason, "resolvedAt": when}


def test_the_operator_keeps_the_recorded_choice_on_later_passes(resolves_to_qmc: None) -> None:
    recorded = AlgorithmChoice(name="random", reason="auto: recorded earlier", resolved_at=T0)
    status = StudyStatus(state="Running", start_time=T0, algorithm=recorded)
    plan = plan_study(auto_obj(status), [], T1)
    assert plan.status.algorithm == recorded and plan.algorithm == "random"
    # The trials it creates are the ones random search proposes, not qmc's (QMC's Sobol
    # points differ from the random startup draws every sampler here would make).
    spec = validate_study(auto_obj()).spec
    expected = [s.parameters for s in Engine(spec, "random").ask([], 2)]
    assert [t["spec"]["parameters"] for t in plan.new_trials] == expected
    assert expected != [s.parameters for s in Engine(spec, "qmc").ask([], 2)]
    # A study without a record (a new one) gets what this process resolves.
    assert plan_study(auto_obj(), [], T1).algorithm == "qmc"


def test_the_operator_fails_a_study_whose_algorithm_cannot_run_here(without_torch: None) -> None:
    status = StudyStatus(state="Running", start_time=T0, algorithm=GP)
    plan = plan_study(auto_obj(status), [], T1)
    assert plan.new_trials == [] and plan.status.state == "Failed"
    valid = get_condition(plan.status.conditions, "Valid")
    assert valid is not None and valid.status == "False"
    assert (
        valid.message
        == f"status.algorithm: gp, chosen when the study started, cannot run here: {NO_TORCH}"
    )
    assert plan.status.algorithm == GP  # kept: fixing the environment revives the study

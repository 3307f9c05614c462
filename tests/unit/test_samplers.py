"""TPE's defaults: the settings the engine gives TPE when a study leaves them out."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from tests.factories import make_spec, run
from tradeoff.engine import Engine, core
from tradeoff.engine.samplers import algorithm_problems, make_sampler, reseed

NUMERIC = [
    {"name": "x", "type": "float", "low": 0.0, "high": 1.0},
    {"name": "y", "type": "float", "low": 0.0, "high": 1.0},
]
CONDITIONAL = [
    {"name": "model", "type": "categorical", "values": ["svm", "forest"]},
    {"name": "C", "type": "float", "low": 0.01, "high": 10.0, "when": {"model": ["svm"]}},
    {"name": "trees", "type": "int", "low": 10, "high": 100, "when": {"model": ["forest"]}},
]


def tpe(objectives: int, parameters: list[dict[str, Any]], **settings: Any) -> Any:
    names = ["accuracy", "cost", "carbon"][:objectives]
    spec = make_spec(
        objectives=[{"name": n, "direction": "minimize"} for n in names],
        parameters=parameters,
        algorithm={"name": "tpe", "seed": 1, "settings": settings},
    )
    assert algorithm_problems(spec) == []
    sampler = make_sampler(spec, 1)
    assert isinstance(sampler, optuna.samplers.TPESampler)
    return sampler


@pytest.mark.parametrize(
    ("objectives", "parameters", "multivariate", "group"),
    [
        (1, NUMERIC, True, False),
        (1, CONDITIONAL, True, True),
        (2, NUMERIC, False, False),
        (2, CONDITIONAL, False, False),
        (3, NUMERIC, False, False),
    ],
)
def test_tpe_is_multivariate_for_one_objective_and_univariate_for_several(
    objectives: int, parameters: list[dict[str, Any]], multivariate: bool, group: bool
) -> None:
    sampler = tpe(objectives, parameters)
    assert sampler._multivariate is multivariate
    assert sampler._group is group
    assert sampler._constant_liar is True


def test_a_study_can_ask_for_univariate_tpe_on_a_conditional_space() -> None:
    """Was refused: the default `group` needs multivariate TPE."""
    sampler = tpe(1, CONDITIONAL, multivariate=False)
    assert (sampler._multivariate, sampler._group) == (False, False)


def test_asking_for_multivariate_tpe_with_several_objectives_groups_conditional_spaces() -> None:
    sampler = tpe(2, CONDITIONAL, multivariate=True)
    assert (sampler._multivariate, sampler._group) == (True, True)
    assert tpe(2, NUMERIC, multivariate=True)._group is False


def test_asking_for_group_implies_multivariate() -> None:
    sampler = tpe(2, CONDITIONAL, group=True)
    assert (sampler._multivariate, sampler._group) == (True, True)


def test_the_constant_liar_can_be_turned_off() -> None:
    assert tpe(2, NUMERIC, constantLiar=False)._constant_liar is False


def test_univariate_tpe_proposes_differently_from_multivariate() -> None:
    """The defaults reach the sampler: past the startup trials the two models disagree."""

    def proposals(**settings: Any) -> list[dict[str, Any]]:
        spec = make_spec(algorithm={"name": "tpe", "seed": 4, "settings": settings})
        records = run(Engine(spec), lambda p: {"accuracy": p["x"], "cost": p["x"] + p["y"]}, 14)
        return [r.spec.parameters for r in records[10:]]

    default = proposals()
    assert default == proposals(multivariate=False)
    assert default != proposals(multivariate=True)


@pytest.mark.parametrize("algorithm", ["tpe", "random"])
def test_a_reseeded_sampler_proposes_what_a_fresh_one_with_that_seed_does(algorithm: str) -> None:
    spec = make_spec(parameters=CONDITIONAL, algorithm={"name": algorithm, "settings": {}})
    study = optuna.create_study(directions=["minimize", "minimize"])
    for i in range(30):  # past TPE's startup trials
        trial = study.ask()
        trial.suggest_float("C", 0.01, 10.0)
        study.tell(trial, [float(i % 7), float(i % 5)])
    kept = make_sampler(spec, 0)
    for seed in (5, 6, 5, 99):
        assert reseed(kept, seed)
        fresh = make_sampler(spec, seed)
        for sampler in (kept, fresh):
            study.sampler = sampler
            trial = study.ask()
            trial.suggest_float("C", 0.01, 10.0)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        got, want = study.trials[-2].params, study.trials[-1].params
        assert got == want


@pytest.mark.parametrize("algorithm", ["nsga2", "nsga3"])
def test_a_reseeded_genetic_sampler_proposes_what_a_fresh_one_with_that_seed_does(
    algorithm: str,
) -> None:
    """Two studies with one history, asked through several generations (parent selection,
    NSGA-III's niches, crossover and mutation all draw from the random state): one by a
    sampler kept and reseeded per ask, one by a sampler built per ask."""
    spec = make_spec(
        parameters=NUMERIC, algorithm={"name": algorithm, "settings": {"populationSize": 4}}
    )

    def history() -> optuna.Study:
        study = optuna.create_study(directions=["minimize", "minimize"])
        for i in range(8):
            trial = study.ask()
            trial.suggest_float("x", 0.0, 1.0)
            trial.suggest_float("y", 0.0, 1.0)
            study.tell(trial, [float(i % 3), float(i % 5)])
        return study

    kept_study, fresh_study = history(), history()
    kept = make_sampler(spec, 0)
    for seed in (5, 6, 5, 99, 7, 8, 9, 10, 11, 12, 13):
        assert reseed(kept, seed)
        kept_study.sampler, fresh_study.sampler = kept, make_sampler(spec, seed)
        for study in (kept_study, fresh_study):
            trial = study.ask()
            x, y = trial.suggest_float("x", 0.0, 1.0), trial.suggest_float("y", 0.0, 1.0)
            study.tell(trial, [x + y, (1 - x) * y])
        assert kept_study.trials[-1].params == fresh_study.trials[-1].params
    key = f"{type(kept).__name__}:generation"
    assert max(t.system_attrs.get(key, 0) for t in kept_study.trials) >= 2  # bred


def test_a_sampler_with_other_state_is_not_reseeded() -> None:
    """QMC draws one sequence, seeded by the study: it is built afresh."""
    spec = make_spec(parameters=NUMERIC, algorithm={"name": "qmc", "seed": 1})
    assert not reseed(make_sampler(spec, 1), 2)


@pytest.mark.parametrize("algorithm", ["tpe", "nsga2"])
def test_the_engine_builds_one_sampler_while_no_finished_trial_changes(
    algorithm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[object] = []

    def counted(spec: Any, seed: int | None) -> optuna.samplers.BaseSampler:
        made.append(seed)
        return make_sampler(spec, seed)

    monkeypatch.setattr(core, "make_sampler", counted)
    settings = {"populationSize": 4} if algorithm == "nsga2" else {}
    spec = make_spec(
        parameters=NUMERIC, algorithm={"name": algorithm, "seed": 1, "settings": settings}
    )
    engine = Engine(spec)
    records = run(engine, lambda p: {"accuracy": p["x"], "cost": p["y"]}, 12)
    assert len(records) == 12 and len(made) == 1

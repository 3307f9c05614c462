"""Samplers and pruners from a Study spec, and what each can handle.

Algorithm settings are the camelCase names of the Optuna constructor's arguments
(`populationSize`, `nStartupTrials`, ...); only plain numbers, strings and booleans.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import re
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import optuna

from tradeoff.api.status import AlgorithmChoice
from tradeoff.engine.space import SearchSpace

if TYPE_CHECKING:
    from tradeoff.api.study import StudySpec

# Experimental flags (TPE `group`, QMC) are deliberate here; keep users' logs clean.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

_PLAIN = (bool, int, float, str)
_RESERVED = {
    "seed",
    "constraints_func",
    "search_space",
    "warn_independent_sampling",
    "warn_asynchronous_seeding",
}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)


def _settable(cls: type) -> set[str]:
    """Constructor arguments that take plain values."""
    names = set()
    for name, param in inspect.signature(cls).parameters.items():
        if name in _RESERVED or name == "self" or param.kind is param.VAR_KEYWORD:
            continue
        ann = str(param.annotation)
        if any(t in ann for t in ("Callable", "Sampler", "Mutation", "Crossover", "list", "dict")):
            continue
        names.add(name)
    return names


def _sampler_class(name: str) -> type:
    return {
        "tpe": optuna.samplers.TPESampler,
        "gp": optuna.samplers.GPSampler,
        "nsga2": optuna.samplers.NSGAIISampler,
        "nsga3": optuna.samplers.NSGAIIISampler,
        "cmaes": optuna.samplers.CmaEsSampler,
        "qmc": optuna.samplers.QMCSampler,
        "random": optuna.samplers.RandomSampler,
        "grid": optuna.samplers.GridSampler,
    }[name]


def _pruner_class(name: str) -> type:
    classes: dict[str, type] = {
        "median": optuna.pruners.MedianPruner,
        "successive-halving": optuna.pruners.SuccessiveHalvingPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
    }
    return classes[name]


def _settings_problems(cls: type, settings: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
    allowed = _settable(cls)
    problems = []
    for key, value in settings.items():
        if _snake(key) not in allowed:
            known = sorted(_camel(n) for n in allowed)
            hint = difflib.get_close_matches(key, known, n=1)
            detail = f"did you mean '{hint[0]}'?" if hint else f"known: {', '.join(known)}"
            problems.append((f"{where}.{key}", f"unknown setting ({detail})"))
        elif not isinstance(value, _PLAIN):
            problems.append((f"{where}.{key}", "must be a number, string or boolean"))
    return problems


def _kwargs(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {_snake(k): v for k, v in settings.items()}


AUTO_GP_MAX_TRIALS = 200
GRID_MAX_POINTS = 1_000_000
"""Grid search is refused beyond this many points: nobody walks a bigger grid."""


def resolve_algorithm(spec: StudySpec) -> AlgorithmChoice:
    """The concrete sampler for `auto` and why; the evidence for each rule is in BENCHMARKS.md.

    - gp for all-numeric, unconditional spaces with one or two objectives and at most 200
      trials (when PyTorch is installed): it beat every other sampler there within 40
      trials, but its asks grow slow with many trials and it trails on conditional spaces
      and on three objectives;
    - tpe everywhere else (conditional spaces, categorical choices, three or more
      objectives, large budgets): with its defaults (univariate for several objectives)
      it beat NSGA-II at every budget measured, up to 400 trials on three objectives.

    The result depends on this process (is PyTorch installed?), so adapters resolve once,
    when a study starts, and record the choice (`status.algorithm`). This is the fixed
    rule: `validation.choose_algorithm` may replace it with what the finished studies of
    the same space show (`autohistory`).
    """
    name = spec.algorithm.name
    if name != "auto":
        return AlgorithmChoice(name=name, reason="set in spec.algorithm.name")
    n_obj = len(spec.objectives)
    numeric = all(p.type != "categorical" and not p.is_conditional for p in spec.parameters)
    has_torch = importlib.util.find_spec("torch") is not None
    trials = spec.budget.max_trials
    if numeric and n_obj <= 2 and trials <= AUTO_GP_MAX_TRIALS and has_torch:
        objectives = f"{n_obj} objective" + ("s" if n_obj > 1 else "")
        why = f"numeric unconditional space, {objectives}, maxTrials {trials}"
        return AlgorithmChoice(name="gp", reason=f"auto: {why} <= {AUTO_GP_MAX_TRIALS}")
    if not numeric:
        why = "categorical or conditional parameters"
    elif n_obj > 2:
        why = f"{n_obj} objectives"
    elif trials > AUTO_GP_MAX_TRIALS:
        why = f"maxTrials {trials} > {AUTO_GP_MAX_TRIALS}"
    else:
        why = "PyTorch is not installed (gp needs it)"
    return AlgorithmChoice(name="tpe", reason=f"auto: {why}")


def algorithm_problems(spec: StudySpec) -> list[tuple[str, str]]:
    """Why the chosen algorithm cannot run this study, if it cannot."""
    name = resolve_algorithm(spec).name
    where = "algorithm.name"
    n_obj = len(spec.objectives)
    cats = [p.name for p in spec.parameters if p.type == "categorical"]
    conditional = [p.name for p in spec.parameters if p.is_conditional]
    problems: list[tuple[str, str]] = []
    if name == "cmaes":
        if n_obj > 1:
            problems.append((where, f"cmaes optimises one objective (this study has {n_obj})"))
        if cats or conditional:
            names = ", ".join(cats or conditional)
            problems.append((where, f"cmaes needs numeric, unconditional parameters ({names})"))
        if importlib.util.find_spec("cmaes") is None:
            problems.append((where, "cmaes needs the cmaes package: pip install 'tradeoff[cmaes]'"))
    if name == "grid":
        space = SearchSpace(spec.parameters)
        if not space.is_grid:
            problems.append(
                (
                    where,
                    "grid needs unconditional parameters that are categorical, int,"
                    " or float with step",
                )
            )
        elif space.skeleton_size > GRID_MAX_POINTS:
            problems.append(
                (
                    where,
                    f"the grid has {space.skeleton_size:.3g} points, more than grid search"
                    f" walks ({GRID_MAX_POINTS:,}); use tpe or random, or coarsen the steps",
                )
            )
    if name == "gp" and importlib.util.find_spec("torch") is None:
        problems.append((where, "gp needs PyTorch: pip install 'tradeoff[gp]'"))
    if name == "nsga3" and n_obj < 2:
        problems.append((where, "nsga3 is for two or more objectives; use tpe or nsga2"))
    if not problems and spec.algorithm.settings:
        cls = _sampler_class(name)
        problems += _settings_problems(cls, spec.algorithm.settings, "algorithm.settings")
        if not problems:
            problems += _constructs(lambda: make_sampler(spec, 0), "algorithm.settings")
    return problems


def _constructs(build: Callable[[], object], where: str) -> list[tuple[str, str]]:
    """Settings of the right type can still be out of range: let Optuna judge them."""
    try:
        build()
    except (ValueError, TypeError) as exc:
        return [(where, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)]
    return []


def pruner_problems(spec: StudySpec) -> list[tuple[str, str]]:
    """Unknown pruner settings."""
    es = spec.early_stopping
    if es.algorithm == "none":
        return (
            [("earlyStopping.settings", "no settings without an algorithm")] if es.settings else []
        )
    where = "earlyStopping.settings"
    problems = _settings_problems(_pruner_class(es.algorithm), es.settings, where)
    return problems or _constructs(lambda: make_pruner(spec), where)


def make_sampler(
    spec: StudySpec,
    seed: int | None,
) -> optuna.samplers.BaseSampler:
    """A fresh sampler for one ask; `seed` already derived from the study seed and trial number."""
    name = resolve_algorithm(spec).name
    kwargs = _kwargs(spec.algorithm.settings)
    silence = {"warn_independent_sampling": False}
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, **tpe_settings(spec, kwargs))
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, **{**silence, **kwargs})
    if name in ("nsga2", "nsga3"):
        kwargs.setdefault("population_size", default_population(spec.budget.max_trials))
        cls = _sampler_class(name)
        return cls(seed=seed, **kwargs)  # type: ignore[no-any-return]
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, **{**silence, **kwargs})
    if name == "qmc":
        kwargs = {"scramble": True, "warn_asynchronous_seeding": False, **silence, **kwargs}
        # QMC draws points of one seeded sequence: the seed is the study's, not per trial.
        return optuna.samplers.QMCSampler(seed=spec.algorithm.seed or 0, **kwargs)
    if name == "grid":
        # The engine walks the grid itself (see Engine._ask_grid); this is its fallback.
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


_TWO_STATES = (
    optuna.samplers.TPESampler,
    optuna.samplers.NSGAIISampler,
    optuna.samplers.NSGAIIISampler,
)
"""Samplers whose own random state and their random sampler's are all that an ask changes."""


def reseed(sampler: optuna.samplers.BaseSampler, seed: int | None) -> bool:
    """Put a kept TPE, random or NSGA-II/III sampler in the state `make_sampler` would make
    it in with `seed` (their random state is all that differs), saying whether it could.

    Building one per ask (its strategies, search space and two random states, each first
    seeded from the OS) was a tenth of a cheap TPE ask and a third of NSGA-II's at 1,000
    trials. NSGA's strategies keep nothing between asks but that random state (NSGA-III's
    reference points are a function of the objective count). Other samplers are made
    afresh.
    """
    if isinstance(sampler, _TWO_STATES) and type(sampler) in _TWO_STATES:  # not a subclass
        states = [sampler._rng, sampler._random_sampler._rng]
    elif type(sampler) is optuna.samplers.RandomSampler:
        states = [sampler._rng]
    else:
        return False
    for state in states:
        state.rng.seed(seed)  # None: from the OS, as a new sampler's
    return True


def tpe_settings(spec: StudySpec, given: Mapping[str, Any]) -> dict[str, Any]:
    """TPE's arguments: the study's settings over defaults chosen by the benchmarks
    (BENCHMARKS.md, "TPE's defaults").

    - multivariate for one objective, univariate (independent) for several: multivariate
      TPE found better optima on Branin and Hartmann6 and lost hypervolume on ZDT1, ZDT3
      and DTLZ2 (0.10 against 0.40 on ZDT1 at 150 trials);
    - `group` whenever multivariate TPE meets a conditional space, so each branch is
      modelled jointly (also when the study asks for multivariate itself); asking for
      `group` implies multivariate;
    - the constant liar, so the trials of a batch spread out.
    """
    one_objective = len(spec.objectives) == 1
    multivariate = given.get("multivariate", bool(given.get("group")) or one_objective)
    defaults: dict[str, Any] = {"multivariate": multivariate, "constant_liar": True}
    if multivariate:
        defaults["group"] = any(p.is_conditional for p in spec.parameters)
    return {**defaults, **given}


def default_population(max_trials: int) -> int:
    """NSGA population when unset: a fifth of the budget, between 8 and 50."""
    return max(8, min(50, max_trials // 5))


def make_pruner(spec: StudySpec) -> optuna.pruners.BasePruner | None:
    """The pruner of the study, or None without early stopping."""
    es = spec.early_stopping
    if es.algorithm == "none":
        return None
    return _pruner_class(es.algorithm)(**_kwargs(es.settings))  # type: ignore[no-any-return]


def with_algorithm(spec: StudySpec, name: str) -> StudySpec:
    """`spec` naming `name` in place of its algorithm (say `auto`): nothing resolves it again."""
    if spec.algorithm.name == name:
        return spec
    algorithm = spec.algorithm.model_copy(update={"name": name})
    return spec.model_copy(update={"algorithm": algorithm})

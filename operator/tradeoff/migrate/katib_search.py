"""A Katib Experiment's search: parameters, algorithm and early stopping, as a Study's."""

from __future__ import annotations

from typing import Any

from tradeoff.migrate.common import ImportProblem, Notes, identifier, mapping, number, plain

__all__ = ["algorithm", "early_stopping", "parameters"]

# Katib algorithm -> (Tradeoff algorithm, what changes; "" when it is the same search).
ALGORITHMS: dict[str, tuple[str, str]] = {
    "random": ("random", ""),
    "grid": ("grid", ""),
    "tpe": ("tpe", ""),
    "multivariate-tpe": ("tpe", ""),
    "bayesianoptimization": (
        "gp",
        "Katib's Bayesian optimisation (scikit-optimize) became Optuna's Gaussian-process"
        " sampler, gp",
    ),
    "cmaes": ("cmaes", ""),
    "sobol": ("qmc", "Sobol sequences are Optuna's quasi-Monte Carlo sampler, qmc"),
    "hyperband": (
        "random",
        "hyperband became random search with the hyperband pruner (earlyStopping): trials"
        " report intermediate values with a step, and the pruner stops the weak ones",
    ),
    "pbt": (
        "random",
        "population-based training (trials resuming from each other's checkpoints) has no"
        " counterpart; the nearest is random search over the same space: trials are"
        " independent",
    ),
}

# Katib setting -> Tradeoff setting (camelCase of Optuna's argument), per Tradeoff algorithm.
SETTINGS: dict[str, dict[str, str]] = {
    "tpe": {"n_startup_trials": "nStartupTrials", "n_ei_candidates": "nEiCandidates"},
    "gp": {"n_initial_points": "nStartupTrials"},
    # cmaes: none. Optuna deprecated sigma0 (4.9) and ignores restart_strategy (since 4.4).
}
PRUNER_SETTINGS: dict[str, dict[str, str]] = {
    "median": {"min_trials_required": "nStartupTrials", "start_step": "nWarmupSteps"},
    "hyperband": {"eta": "reductionFactor"},
}


def _value(text: Any) -> Any:
    """A Katib setting's value (always a string there) as the number it spells, if any."""
    if not isinstance(text, str):
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _settings(
    given: Any, table: dict[str, str], notes: Notes, where: str
) -> tuple[dict[str, Any], int | None]:
    """(mapped settings, seed) of Katib's [{name, value}] settings; the rest is noted."""
    out: dict[str, Any] = {}
    seed: int | None = None
    dropped: list[str] = []
    if given is not None and not isinstance(given, list):
        raise ImportProblem(where, "must be a list of {name, value}")
    for i, item in enumerate(given or []):
        entry = mapping(item, f"{where}[{i}]")
        name, value = str(entry.get("name")), _value(entry.get("value"))
        if name == "random_state" and isinstance(value, int):
            seed = value
        elif name in table:
            out[table[name]] = value
        elif not (name == "restart_strategy" and value == "none"):  # "none": Optuna's way
            dropped.append(f"{name}={entry.get('value')}")
    if dropped:
        notes.add(where, f"settings with no Tradeoff counterpart dropped: {', '.join(dropped)}")
    return out, seed


def algorithm(spec: dict[str, Any], notes: Notes) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(spec.algorithm, spec.earlyStopping or None) from Katib's algorithm."""
    where = "spec.algorithm"
    given = mapping(spec.get("algorithm"), where)
    katib = str(given.get("algorithmName") or "")
    if katib in ("enas", "darts") or spec.get("nasConfig") is not None:
        raise ImportProblem(
            "spec.nasConfig" if spec.get("nasConfig") is not None else f"{where}.algorithmName",
            f"neural architecture search ({katib or 'nasConfig'}) cannot be imported: Tradeoff"
            " searches hyperparameters, not network architectures",
        )
    if katib not in ALGORITHMS:
        notes.add(
            f"{where}.algorithmName",
            f"{katib or 'none given'}: not a Katib algorithm Tradeoff knows;"
            " algorithm auto picks one",
        )
        return {"name": "auto"}, None
    name, change = ALGORITHMS[katib]
    if change:
        notes.add(f"{where}.algorithmName", f"{katib}: {change}")
    pruner = "hyperband" if katib == "hyperband" else None
    table = PRUNER_SETTINGS["hyperband"] if pruner else SETTINGS.get(name, {})
    settings, seed = _settings(
        given.get("algorithmSettings"), table, notes, f"{where}.algorithmSettings"
    )
    out: dict[str, Any] = {"name": name}
    if seed is not None:
        out["seed"] = seed
    if katib == "multivariate-tpe":
        settings["multivariate"] = True
    if settings and not pruner:
        out["settings"] = settings
    if pruner:
        return out, {"algorithm": pruner, **({"settings": settings} if settings else {})}
    return out, None


def early_stopping(spec: dict[str, Any], notes: Notes) -> dict[str, Any] | None:
    """spec.earlyStopping from Katib's (medianstop is Optuna's median pruner)."""
    where = "spec.earlyStopping"
    given = mapping(spec.get("earlyStopping"), where)
    if not given:
        return None
    katib = given.get("algorithmName")
    if katib != "medianstop":
        notes.add(f"{where}.algorithmName", f"{katib}: no Tradeoff counterpart; no early stopping")
        return None
    settings, _ = _settings(
        given.get("algorithmSettings"),
        PRUNER_SETTINGS["median"],
        notes,
        f"{where}.algorithmSettings",
    )
    notes.add(
        where,
        "medianstop became the median pruner: it reads intermediate values, which a trial"
        " reports with a step (a name=value line with step=N or epoch=N, or"
        " trial_runner.report(step=N, ...))",
    )
    return {"algorithm": "median", **({"settings": settings} if settings else {})}


def parameters(spec: dict[str, Any], notes: Notes) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(spec.parameters, Katib name -> Tradeoff name)."""
    given = spec.get("parameters")
    if not isinstance(given, list) or not given:
        raise ImportProblem("spec.parameters", "an Experiment needs at least one parameter")
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    taken: set[str] = set()
    for i, item in enumerate(given):
        where = f"spec.parameters[{i}]"
        p = mapping(item, where)
        katib_name = p.get("name")
        if not isinstance(katib_name, str) or not katib_name:
            raise ImportProblem(f"{where}.name", "every parameter needs a name")
        name = identifier(katib_name, taken)
        if name != katib_name:
            notes.add(
                f"{where}.name",
                f"{katib_name!r} is named {name!r} (parameter names are identifiers)",
            )
        names[katib_name] = name
        out.append({"name": name, **_space(p, notes, where)})
    return out, names


def _space(p: dict[str, Any], notes: Notes, where: str) -> dict[str, Any]:
    kind = p.get("parameterType")
    space = mapping(p.get("feasibleSpace"), f"{where}.feasibleSpace")
    at = f"{where}.feasibleSpace"
    if kind in ("categorical", "discrete"):
        values = space.get("list")
        if not isinstance(values, list) or not values:
            raise ImportProblem(f"{at}.list", f"a {kind} parameter needs a list of values")
        if kind == "categorical":
            return {"type": "categorical", "values": [str(v) for v in values]}
        numbers = [number(v, f"{at}.list[{j}]") for j, v in enumerate(values)]
        whole = all(n.is_integer() for n in numbers)
        notes.add(
            f"{where}.parameterType",
            "discrete became categorical over the same numbers (the sampler does not use"
            " their order)",
        )
        return {"type": "categorical", "values": [plain(n, whole=whole) for n in numbers]}
    if kind not in ("int", "double"):
        raise ImportProblem(
            f"{where}.parameterType", f"must be int, double, categorical or discrete (got {kind!r})"
        )
    is_int = kind == "int"
    out: dict[str, Any] = {"type": "int" if is_int else "float"}
    for field, ours in (("min", "low"), ("max", "high")):
        if space.get(field) is None:
            raise ImportProblem(f"{at}.{field}", f"an {kind} parameter needs min and max")
        out[ours] = plain(number(space[field], f"{at}.{field}"), whole=is_int)
    step = number(space["step"], f"{at}.step") if space.get("step") is not None else None
    distribution = space.get("distribution") or "uniform"
    if distribution in ("logUniform", "logNormal"):
        out["log"] = True
    if distribution in ("normal", "logNormal"):
        scale = "log-uniformly" if distribution == "logNormal" else "uniformly"
        notes.add(
            f"{at}.distribution",
            f"{distribution}: Tradeoff samples {scale} between min and max",
        )
    elif distribution not in ("uniform", "logUniform"):
        raise ImportProblem(f"{at}.distribution", f"unknown distribution {distribution!r}")
    if step is not None and out.get("log"):
        notes.add(f"{at}.step", "dropped: a log-scaled parameter has no step in Tradeoff")
    elif step is not None and not (is_int and step == 1):
        out["step"] = plain(step, whole=is_int)
    return out

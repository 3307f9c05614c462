"""A Kubeflow Trainer OptimizationJob (`trainer.kubeflow.org/v1alpha1`) as a Study manifest.

The shape is that of Kubeflow Trainer's `optimizationjob_types.go` and its proposal
(KEP-3562): one objective, random or grid search, uniform / logUniform / categorical
parameters, `numTrials` and `parallelTrials` (at the spec's top level, or under
`trialPolicy` as the proposal wrote them) and a TrainJob template. Each trial is that
TrainJob, kept whole as `trialTemplate.workload` (its runtime, every node), as a Katib
trial workload is. The OptimizationJob passes a trial its parameters as environment
variables `KUBEFLOW_TRAINER_OPT_<NAME>` (upper case, `-` as `_`) on the trainer; the Study
sets them from `${params.NAME}`, so training code written for it runs unchanged, and a
`$(KUBEFLOW_TRAINER_OPT_<NAME>)` in the trainer's command or args (Kubernetes expands it
from the environment) becomes `${params.NAME}`, which local mode substitutes too.
"""

from __future__ import annotations

import re
from typing import Any

from tradeoff.migrate.common import (
    Conversion,
    ImportProblem,
    Notes,
    identifier,
    mapping,
    number,
    plain,
    study,
    study_name,
)
from tradeoff.migrate.workload import TRAINJOB_VERSION, trainjob_workload

__all__ = ["ENV_PREFIX", "TRAINER_API_GROUP", "from_optimization_job", "parameter_env"]

TRAINER_API_GROUP = "trainer.kubeflow.org"
ENV_PREFIX = "KUBEFLOW_TRAINER_OPT_"
_EXPANSION = re.compile(r"\$\((" + ENV_PREFIX + r"[A-Za-z0-9_]+)\)")


def parameter_env(name: str) -> str:
    """The variable an OptimizationJob passes parameter `name` in (as its controller does)."""
    return ENV_PREFIX + name.replace("-", "_").upper()


def from_optimization_job(doc: dict[str, Any], name: str | None = None) -> Conversion:
    """The Study an OptimizationJob becomes; ImportProblem if it cannot become one."""
    notes = Notes()
    metadata = mapping(doc.get("metadata"), "metadata")
    spec = mapping(doc.get("spec"), "spec")
    if not spec:
        raise ImportProblem("spec", "the OptimizationJob has no spec")
    out: dict[str, Any] = {"objectives": _objectives(spec)}
    params, env_names = _parameters(spec, notes)
    out["parameters"] = params
    out["algorithm"] = _algorithm(spec, notes)
    out["budget"] = _budget(spec, notes)
    template = mapping(spec.get("trainJobTemplate"), "spec.trainJobTemplate")
    if not template.get("spec"):
        raise ImportProblem(
            "spec.trainJobTemplate.spec", "the OptimizationJob has no TrainJob template"
        )
    where = "spec.trainJobTemplate"
    spec_doc = mapping(template["spec"], f"{where}.spec")
    workload = trainjob_workload(spec_doc, TRAINJOB_VERSION, notes, where, kind_at="")
    trainer = workload["spec"]["trainer"]
    _refer(trainer, env_names, notes, f"{where}.spec.trainer")
    if "command" not in trainer:
        notes.add(
            f"{where}.spec.trainer.command",
            "not set: the runtime's entrypoint runs in a cluster; local mode runs the"
            " trainer's command, so it needs one",
        )
    metric = out["objectives"][0]["name"]
    notes.add(
        "spec.objectives",
        f"OptimizationJob trials push {metric} to the Trainer's progress API; a Tradeoff trial"
        f" prints it on standard output: a line {metric}=VALUE, or trial_runner.report()",
    )
    template_meta = mapping(template.get("metadata"), f"{where}.metadata")
    if template_meta:
        notes.add(f"{where}.metadata", "not carried over (labels and annotations)")
    out["trialTemplate"] = {"workload": workload}
    rest = sorted(
        set(spec)
        - {"objectives", "parameters", "searchAlgorithm", "numTrials", "parallelTrials"}
        - {"trialPolicy", "trainJobTemplate"}
    )
    if rest:
        notes.add("spec", f"fields not carried over: {', '.join(rest)}")
    document = study(name or study_name(metadata.get("name")), metadata.get("namespace"), out)
    return Conversion(document, notes.lines, f"OptimizationJob {metadata.get('name')}")


def _refer(trainer: dict[str, Any], env_names: dict[str, str], notes: Notes, where: str) -> None:
    """Pass the parameters as the OptimizationJob does (its variables on the trainer), and
    turn `$(VARIABLE)` of a parameter in command and args into `${params.NAME}`."""
    env = [e for e in trainer.get("env") or [] if not str(e.get("name", "")).startswith(ENV_PREFIX)]
    trainer["env"] = env + [
        {"name": variable, "value": f"${{params.{ours}}}"} for variable, ours in env_names.items()
    ]

    def refer(match: re.Match[str]) -> str:
        ours = env_names.get(match.group(1))
        return f"${{params.{ours}}}" if ours else match.group(0)

    for field in ("command", "args"):
        values = trainer.get(field)
        if isinstance(values, list):
            trainer[field] = [_EXPANSION.sub(refer, str(v)) for v in values]
    unknown = sorted(
        {m.group(1) for f in ("command", "args") for v in trainer.get(f) or []
         for m in _EXPANSION.finditer(str(v))}
    )  # fmt: skip
    if unknown:
        notes.add(where, f"{', '.join(unknown)}: no parameter of the OptimizationJob; left as is")


def _objectives(spec: dict[str, Any]) -> list[dict[str, Any]]:
    given = spec.get("objectives")
    if not isinstance(given, list) or not given:
        raise ImportProblem("spec.objectives", "an OptimizationJob needs an objective")
    out = []
    for i, item in enumerate(given):
        objective = mapping(item, f"spec.objectives[{i}]")
        metric = objective.get("metric")
        if not isinstance(metric, str) or not metric:
            raise ImportProblem(f"spec.objectives[{i}].metric", "every objective needs a metric")
        direction = str(objective.get("direction") or "Minimize").lower()
        if direction not in ("maximize", "minimize"):
            raise ImportProblem(
                f"spec.objectives[{i}].direction",
                f"must be Maximize or Minimize (got {objective.get('direction')!r})",
            )
        out.append({"name": metric, "direction": direction})
    return out


def _parameters(spec: dict[str, Any], notes: Notes) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The parameters, and the variable each is passed in -> its name in the Study."""
    given = spec.get("parameters")
    if not isinstance(given, list) or not given:
        raise ImportProblem("spec.parameters", "an OptimizationJob needs at least one parameter")
    out: list[dict[str, Any]] = []
    env: dict[str, str] = {}
    taken: set[str] = set()
    for i, item in enumerate(given):
        where = f"spec.parameters[{i}]"
        p = mapping(item, where)
        given_name = p.get("name")
        if not isinstance(given_name, str) or not given_name:
            raise ImportProblem(f"{where}.name", "every parameter needs a name")
        name = identifier(given_name, taken)
        if name != given_name:
            notes.add(f"{where}.name", f"{given_name!r} is named {name!r}")
        env[parameter_env(given_name)] = name
        space = mapping(p.get("searchSpace"), f"{where}.searchSpace")
        kinds = [k for k in ("uniform", "logUniform", "categorical") if space.get(k)]
        if len(kinds) != 1:
            raise ImportProblem(
                f"{where}.searchSpace", "needs exactly one of uniform, logUniform or categorical"
            )
        at = f"{where}.searchSpace.{kinds[0]}"
        body = mapping(space[kinds[0]], at)
        if kinds[0] == "categorical":
            choices = body.get("choices")
            if not isinstance(choices, list) or not choices:
                raise ImportProblem(f"{at}.choices", "needs at least one choice")
            out.append({"name": name, "type": "categorical", "values": [str(c) for c in choices]})
            continue
        is_int = str(body.get("type") or "Float") == "Int"
        entry: dict[str, Any] = {"name": name, "type": "int" if is_int else "float"}
        for field, ours in (("min", "low"), ("max", "high")):
            if body.get(field) is None:
                raise ImportProblem(f"{at}.{field}", "needs min and max")
            entry[ours] = plain(number(body[field], f"{at}.{field}"), whole=is_int)
        if kinds[0] == "logUniform":
            entry["log"] = True
        out.append(entry)
    return out, env


def _algorithm(spec: dict[str, Any], notes: Notes) -> dict[str, Any]:
    given = mapping(spec.get("searchAlgorithm"), "spec.searchAlgorithm")
    if not given or "random" in given:
        random = mapping(given.get("random"), "spec.searchAlgorithm.random")
        seed = random.get("seed", random.get("randomState"))
        return {"name": "random", **({"seed": seed} if isinstance(seed, int) else {})}
    if "grid" in given:
        return {"name": "grid"}
    kinds = ", ".join(sorted(given))
    notes.add("spec.searchAlgorithm", f"{kinds}: not in the OptimizationJob API; algorithm auto")
    return {"name": "auto"}


def _budget(spec: dict[str, Any], notes: Notes) -> dict[str, Any]:
    policy = mapping(spec.get("trialPolicy"), "spec.trialPolicy")
    out: dict[str, Any] = {}
    for ours, theirs in (("maxTrials", "numTrials"), ("parallelism", "parallelTrials")):
        where = f"spec.{theirs}" if theirs in spec else f"spec.trialPolicy.{theirs}"
        value = spec.get(theirs, policy.get(theirs, 1))  # the API's default is 1 for both
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ImportProblem(where, f"must be a whole number >= 1 (got {value!r})")
        out[ours] = value
    out["maxFailedTrials"] = out["maxTrials"]
    notes.add(
        "spec",
        "an OptimizationJob has no failure budget; maxFailedTrials is set to the trial budget",
    )
    return out

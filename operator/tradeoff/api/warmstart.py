"""Warm start: learn from earlier studies and from configurations the author already knows."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from tradeoff.api._base import ApiModel
from tradeoff.api.errors import explained
from tradeoff.api.space import Parameter, ParamValue, branching
from tradeoff.api.trial import ObjectiveValue


class StudyRef(ApiModel):
    """An earlier study whose finished trials inform the sampler."""

    name: str = Field(
        min_length=1,
        max_length=4096,
        description=(
            "In a cluster: a Study's name. Locally: the name of a study under the workdir "
            "root, or the path of a study's workdir."
        ),
    )
    namespace: str | None = Field(
        default=None,
        pattern=explained(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "a namespace name (a DNS label)"),
        max_length=63,
        description=(
            "Namespace of the Study (cluster only); default this Study's. Another namespace "
            "needs the operator's warmStart.crossNamespace setting."
        ),
    )


class PriorPoint(ApiModel):
    """A configuration to evaluate first, or, with values, one already evaluated."""

    parameters: dict[str, ParamValue] = Field(
        description="Parameter values; parameters left out are chosen by the sampler."
    )
    values: dict[str, ObjectiveValue] | None = Field(
        default=None,
        description=(
            "Known value of every objective, by name: the configuration is not run again and "
            "informs the sampler as a prior trial. Without values it runs as the first trials."
        ),
    )


class WarmStart(ApiModel):
    """Prior knowledge: earlier studies' trials and configurations to start from."""

    from_studies: list[StudyRef] = Field(
        default_factory=list,
        max_length=20,
        description="Studies whose finished trials inform the sampler (matched by name).",
    )
    trials: list[PriorPoint] = Field(
        default_factory=list,
        max_length=1000,
        description="Configurations to evaluate first, or known results (with values).",
    )
    include_in_front: bool = Field(
        default=False,
        description="Show prior trials on the Pareto front and in the recommendation.",
    )
    best_per_branch_first: bool = Field(
        default=False,
        description=(
            "Run the prior trials' best configuration of each branch (each value of a "
            "categorical parameter that other parameters depend on) as the first trials."
        ),
    )
    pace_by_branch: bool = Field(
        default=False,
        description=(
            "In each branch, let at most as many prior trials inform the sampler as this "
            "study has own results there (the branch's best priors)."
        ),
    )


def warm_start_problems(
    warm: WarmStart, parameters: Sequence[Parameter], objectives: Sequence[str]
) -> list[tuple[str, str]]:
    """(path, message) per configuration that does not fit the space or the objectives."""
    by_name = {p.name: p for p in parameters}
    problems: list[tuple[str, str]] = []
    for path, asked in (
        ("warmStart.bestPerBranchFirst", warm.best_per_branch_first),
        ("warmStart.paceByBranch", warm.pace_by_branch),
    ):
        if asked:
            problems += _branch_problems(path, warm, parameters)
    for i, point in enumerate(warm.trials):
        path = f"warmStart.trials[{i}]"
        for name, value in point.parameters.items():
            p = by_name.get(name)
            if p is None:
                known = ", ".join(sorted(by_name))
                problems.append((f"{path}.parameters.{name}", f"not a parameter (known: {known})"))
            elif (why := _misfit(p, value)) is not None:
                problems.append((f"{path}.parameters.{name}", why))
        if point.values is None:
            continue
        for name in point.values:
            if name not in objectives:
                problems.append(
                    (f"{path}.values.{name}", f"not an objective (known: {', '.join(objectives)})")
                )
        missing = [o for o in objectives if o not in point.values]
        if missing:
            problems.append((f"{path}.values", f"needs a value of every objective: {missing[0]}"))
    return problems


def _branch_problems(
    path: str, warm: WarmStart, parameters: Sequence[Parameter]
) -> list[tuple[str, str]]:
    """Why an option about branches (at `path`) can do nothing here, if it cannot."""
    if not branching(parameters):
        return [(path, "the space has no branches (no categorical parameter named in a `when`)")]
    if not warm.from_studies and all(t.values is None for t in warm.trials):
        return [(path, "needs prior trials: fromStudies, or trials with values")]
    return []


def _misfit(p: Parameter, value: ParamValue) -> str | None:
    """Why `value` is not a value of `p`, or None."""
    if p.type == "categorical":
        if not any(type(v) is type(value) and v == value for v in p.values or []):
            return f"{value!r} is not one of {p.values}"
        return None
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric or (p.type == "int" and not float(value).is_integer()):
        return f"must be {'a whole number' if p.type == 'int' else 'a number'} (got {value!r})"
    assert p.low is not None and p.high is not None
    if not p.low <= float(value) <= p.high:
        return f"{value} is outside [{p.low:g}, {p.high:g}]"
    return None

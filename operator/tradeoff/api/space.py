"""Search-space parameters: float, int and categorical, optionally conditional (`when`)."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Literal

from pydantic import Field, model_validator

from tradeoff.api._base import ApiModel
from tradeoff.api.errors import SpecProblem, explained

ParamValue = str | int | float | bool
"""A parameter's value, as it appears in manifests, records and `${params.NAME}`."""

NAME_PATTERN = explained(
    r"^[A-Za-z_][A-Za-z0-9_]*$", "an identifier: a letter or _, then letters, digits or _"
)


MAX_FLOAT_STEPS = 1e15
"""A float step finer than this share of the range is no step (floats hold 16 digits), and
Optuna's arithmetic on it fails."""


class Parameter(ApiModel):
    """One dimension of the search space."""

    name: str = Field(
        pattern=NAME_PATTERN,
        max_length=63,
        description="Parameter name, referenced as ${params.NAME} in the trial template.",
    )
    type: Literal["float", "int", "categorical"] = Field(description="Kind of parameter.")
    low: float | None = Field(default=None, description="Lower bound (float and int).")
    high: float | None = Field(default=None, description="Upper bound, inclusive (float and int).")
    log: bool = Field(default=False, description="Sample on a log scale (needs low > 0).")
    step: float | None = Field(
        default=None, gt=0, description="Discretisation step (float and int; not with log)."
    )
    values: list[ParamValue] | None = Field(
        default=None, description="Choices of a categorical parameter."
    )
    when: dict[str, list[ParamValue]] | None = Field(
        default=None,
        description=(
            "Conditional parameter: active only when each named categorical parameter "
            "takes one of the listed values."
        ),
    )

    @model_validator(mode="after")
    def _check_kind(self) -> Parameter:
        problems = self._problems()
        if problems:
            raise SpecProblem(problems)
        return self

    def _problems(self) -> list[tuple[str, str]]:
        if self.type == "categorical":
            problems = [
                (f, "applies to float and int parameters only") for f in self._numeric_set()
            ]
            if not self.values:
                problems.append(("values", "a categorical parameter needs at least one value"))
            elif len({repr(v) for v in self.values}) != len(self.values):
                problems.append(("values", "values must be unique"))
            return problems
        problems = [("values", "applies to categorical parameters only")] if self.values else []
        if self.low is None or self.high is None:
            missing = "low" if self.low is None else "high"
            return [*problems, (missing, f"a {self.type} parameter needs low and high")]
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            return [*problems, ("low", "bounds must be finite numbers")]
        if self.low >= self.high:
            problems.append(("low", f"must be below high ({_num(self.low)} >= {_num(self.high)})"))
        if self.log and self.low <= 0:
            problems.append(("low", f"must be > 0 with log: true (got {_num(self.low)})"))
        if self.log and self.step is not None:
            problems.append(("step", "cannot be combined with log: true"))
        elif self.type == "float" and self.step is not None and self.low < self.high:
            steps = (self.high - self.low) / self.step
            if not steps <= MAX_FLOAT_STEPS:
                problems.append(
                    ("step", f"too fine: {steps:.3g} steps from low to high (at most 1e15)")
                )
        if self.type == "int":
            for field, value in (("low", self.low), ("high", self.high), ("step", self.step)):
                if value is not None and not float(value).is_integer():
                    problems.append(
                        (field, f"must be a whole number for an int parameter ({value})")
                    )
        return problems

    def _numeric_set(self) -> list[str]:
        fields = [f for f in ("low", "high", "step") if getattr(self, f) is not None]
        return fields + (["log"] if self.log else [])

    @property
    def is_conditional(self) -> bool:
        return bool(self.when)

    def value_count(self) -> int | None:
        """How many values a finite parameter has (computed, never listed); None if continuous."""
        if self.type == "categorical":
            return len(self.values or [])
        assert self.low is not None and self.high is not None
        if self.type == "int":
            return (int(self.high) - int(self.low)) // int(self.step or 1) + 1
        if self.step is None:
            return None
        return math.floor((self.high - self.low) / self.step + 1e-9) + 1

    def value_at(self, index: int) -> ParamValue:
        """The `index`-th value (from 0) of a finite parameter, in ascending order."""
        if self.type == "categorical":
            return (self.values or [])[index]
        assert self.low is not None
        if self.type == "int":
            return int(self.low) + index * int(self.step or 1)
        assert self.step is not None
        return round(self.low + index * self.step, 12)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def ordered_for_sampling(parameters: Sequence[Parameter]) -> list[Parameter]:
    """Parameters in an order where every `when` condition names an earlier parameter.

    Round by round: each round places, in manifest order, every parameter whose conditions
    name parameters of earlier rounds only (so the manifest order is kept where it already
    works). Linear in the parameters and their conditions. Raises SpecProblem on cycles.
    """
    waiting_on = [len(set(p.when or {})) for p in parameters]
    dependents: dict[str, list[int]] = {}
    for i, p in enumerate(parameters):
        for dep in set(p.when or {}):
            dependents.setdefault(dep, []).append(i)
    placed: list[Parameter] = []
    current = [i for i, count in enumerate(waiting_on) if count == 0]
    while current:
        following: list[int] = []
        for i in current:
            placed.append(parameters[i])
            for j in dependents.get(parameters[i].name, []):
                waiting_on[j] -= 1
                if waiting_on[j] == 0:
                    following.append(j)
        current = sorted(following)
    if len(placed) < len(parameters):
        done = {id(p) for p in placed}
        stuck = [p.name for p in parameters if id(p) not in done]
        names = ", ".join(stuck[:10]) + (f" and {len(stuck) - 10} more" if len(stuck) > 10 else "")
        raise SpecProblem(
            [("", f"conditional parameters depend on each other in a cycle: {names}")]
        )
    return placed


def branching(parameters: Sequence[Parameter]) -> list[Parameter]:
    """The categorical parameters that some other parameter's `when` names (each of
    their values is a branch of the space)."""
    named = {dep for p in parameters for dep in p.when or {}}
    return [p for p in parameters if p.type == "categorical" and p.name in named]


def is_active(parameter: Parameter, chosen: dict[str, ParamValue]) -> bool:
    """Whether `parameter` is active given the values chosen so far."""
    for dep, allowed in (parameter.when or {}).items():
        if dep not in chosen or chosen[dep] not in allowed:
            return False
    return True


def space_problems(
    parameters: Sequence[Parameter | None], unparsed: Collection[str] = ()
) -> list[tuple[str, str]]:
    """Cross-parameter problems: duplicate names, `when` naming unknown parameters or values.

    A None entry is a parameter that did not parse (its own problems are reported apart);
    `unparsed` holds the names such parameters were given, so that no `when` naming one of
    them is called unknown.
    """
    problems: list[tuple[str, str]] = []
    by_name: dict[str, Parameter] = {}
    for i, p in enumerate(parameters):
        if p is None:
            continue
        if p.name in by_name:
            problems.append((f"[{i}].name", f"duplicate parameter name {p.name!r}"))
        by_name.setdefault(p.name, p)
    for i, p in enumerate(parameters):
        if p is None:
            continue
        for dep, allowed in (p.when or {}).items():
            target = by_name.get(dep)
            where = f"[{i}].when.{dep}"
            if target is None:
                if dep not in unparsed:
                    problems.append((where, f"names unknown parameter {dep!r}"))
            elif target.type != "categorical":
                problems.append(
                    (where, f"must name a categorical parameter ({dep!r} is {target.type})")
                )
            elif dep == p.name:
                problems.append((where, "a parameter cannot depend on itself"))
            elif not allowed:
                problems.append((where, f"needs at least one value of {dep!r}"))
            else:
                choices = target.values or []
                for value in (v for v in allowed if v not in choices):
                    known = ", ".join(repr(c) for c in choices)
                    problems.append((where, f"{value!r} is not a value of {dep!r} ({known})"))
    parsed = [p for p in parameters if p is not None]
    if not problems and len(parsed) == len(parameters):
        try:
            ordered_for_sampling(parsed)
        except SpecProblem as exc:
            problems.extend(exc.problems)
    return problems

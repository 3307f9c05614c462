"""Validating a Study: the one entry point every caller uses, and the algorithm a study runs.

Two phases, all problems reported together: the structure the API models check (fields,
bounds, references between fields, `${params.X}`), then the engine's checks (can the
algorithm and the pruner run this spec?). The engine's run on whatever parts of the spec
parse, so a manifest with a misspelt field and an algorithm that cannot run gets both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tradeoff.api.errors import ManifestError
from tradeoff.api.load import check_structure, spec_draft
from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import Study, StudySpec
from tradeoff.engine.autohistory import PastStudy, from_history
from tradeoff.engine.samplers import (
    algorithm_problems,
    pruner_problems,
    resolve_algorithm,
    with_algorithm,
)

__all__ = ["choose_algorithm", "engine_problems", "recorded_problem", "validate_study"]


def validate_study(
    document: Any, source: str = "", recorded: AlgorithmChoice | None = None
) -> Study:
    """The document as a Study, or ManifestError with one line per problem of either phase.

    `recorded`: the algorithm the study was started with; it is checked in place of what
    `auto` would resolve to now.
    """
    where = f"{source}: " if source else ""
    try:
        study = check_structure(document, source)
    except ManifestError as exc:
        draft = spec_draft(document)
        found = engine_problems(draft) if draft is not None else []
        lines = exc.problems + [f"{where}{p}: {m}" for p, m in found]
        raise ManifestError(_capped(lines, where)) from None
    found = engine_problems(study.spec, recorded)
    if found:
        raise ManifestError(_capped([f"{where}{p}: {m}" for p, m in found], where))
    return study


MAX_PROBLEMS = 20
"""At most this many lines per manifest: a Study's status must stay small."""


def _capped(lines: list[str], where: str) -> list[str]:
    if len(lines) <= MAX_PROBLEMS:
        return lines
    more = len(lines) - MAX_PROBLEMS + 1
    return [*lines[: MAX_PROBLEMS - 1], f"{where}... and {more} more problems"]


def choose_algorithm(
    spec: StudySpec,
    recorded: AlgorithmChoice | None,
    now: datetime | None = None,
    history: Callable[[], Sequence[PastStudy]] | None = None,
) -> AlgorithmChoice:
    """The algorithm a study runs: the recorded one while the spec still asks for it.

    A study that asks for `auto` keeps what `auto` resolved to when it started, whatever
    this process would resolve it to now (or whatever history has become); otherwise the
    spec is resolved afresh, with `history` (the finished studies of the same space, read
    only now) when it asks for `auto`, stamped with `now`, for the caller to record.
    """
    if recorded is not None and spec.algorithm.name in ("auto", recorded.name):
        return recorded
    chosen = resolve_algorithm(spec)
    if history is not None and spec.algorithm.name == "auto":
        chosen = from_history(spec, chosen, history())
    return chosen.model_copy(update={"resolved_at": now})


def recorded_problem(spec: StudySpec, recorded: AlgorithmChoice) -> str | None:
    """Why the algorithm `auto` chose when the study started cannot run here (one line).

    A spec that names its algorithm gets that algorithm's problems at `spec.algorithm`.
    """
    if spec.algorithm.name != "auto":
        return None
    problems = [m for p, m in algorithm_problems(with_algorithm(spec, recorded.name))]
    if not problems:
        return None
    return f"{recorded.name}, chosen when the study started, cannot run here: {problems[0]}"


def engine_problems(
    spec: StudySpec, recorded: AlgorithmChoice | None = None
) -> list[tuple[str, str]]:
    """(path, message) for what the engine cannot run: the algorithm and the pruner."""
    problem = recorded_problem(spec, recorded) if recorded is not None else None
    if problem is not None:
        found = [("status.algorithm", problem)]
    else:
        algorithm = choose_algorithm(spec, recorded).name
        found = [(f"spec.{p}", m) for p, m in algorithm_problems(with_algorithm(spec, algorithm))]
    return found + [(f"spec.{p}", m) for p, m in pruner_problems(spec)]

"""Migration to Tradeoff: Katib Experiments and Kubeflow Trainer OptimizationJobs as Studies.

`convert(document)` is a pure function from the parsed YAML to a `Conversion` (the Study
manifest and the notes on what did not carry over); `tradeoff import` is its command.
"""

from __future__ import annotations

from typing import Any

from tradeoff.migrate.common import Conversion, ImportProblem
from tradeoff.migrate.katib import KATIB_API_VERSION, from_experiment
from tradeoff.migrate.optimizationjob import TRAINER_API_GROUP, from_optimization_job

__all__ = ["Conversion", "ImportProblem", "convert", "pick"]

SUPPORTED = (
    f"a Katib Experiment ({KATIB_API_VERSION}) or an OptimizationJob ({TRAINER_API_GROUP}/v1alpha1)"
)


def pick(documents: list[Any]) -> Any:
    """The document to convert: the first Experiment or OptimizationJob, else the first."""
    kinds = ("Experiment", "OptimizationJob")
    found = [d for d in documents if isinstance(d, dict) and d.get("kind") in kinds]
    return found[0] if found else documents[0]


def convert(document: Any, name: str | None = None) -> Conversion:
    """A Study manifest from a Katib Experiment or an OptimizationJob (`name` overrides its name).

    Raises ImportProblem (one line: the field and the fix) for anything else.
    """
    if not isinstance(document, dict):
        raise ImportProblem("", f"expected {SUPPORTED} (got a {type(document).__name__})")
    kind, api_version = document.get("kind"), str(document.get("apiVersion") or "")
    if kind == "Experiment" and api_version.startswith("kubeflow.org/"):
        if api_version != KATIB_API_VERSION:
            raise ImportProblem(
                "apiVersion",
                f"{api_version} is not supported; only Katib's {KATIB_API_VERSION} Experiments"
                " can be imported (upgrade the Experiment to v1beta1 first)",
            )
        return from_experiment(document, name)
    if kind == "OptimizationJob" and api_version.startswith(f"{TRAINER_API_GROUP}/"):
        if api_version != f"{TRAINER_API_GROUP}/v1alpha1":
            raise ImportProblem(
                "apiVersion",
                f"{api_version} is not supported; {TRAINER_API_GROUP}/v1alpha1 OptimizationJobs"
                " can be imported",
            )
        return from_optimization_job(document, name)
    got = f"{kind or 'no kind'} ({api_version or 'no apiVersion'})"
    raise ImportProblem("kind", f"expected {SUPPORTED}, got {got}")

"""A Katib Experiment (`kubeflow.org/v1beta1`) as a Study manifest and notes on what changed."""

from __future__ import annotations

from typing import Any

from tradeoff.migrate.common import (
    Conversion,
    ImportProblem,
    Notes,
    mapping,
    number,
    study,
    study_name,
)
from tradeoff.migrate.katib_references import substitute, trial_parameters, unused
from tradeoff.migrate.katib_search import algorithm, early_stopping, parameters
from tradeoff.migrate.workload import workload_pod

__all__ = ["KATIB_API_VERSION", "from_experiment"]

KATIB_API_VERSION = "kubeflow.org/v1beta1"

_SPEC_FIELDS = {
    "objective",
    "algorithm",
    "earlyStopping",
    "parameters",
    "nasConfig",
    "parallelTrialCount",
    "maxTrialCount",
    "maxFailedTrialCount",
    "trialTemplate",
    "metricsCollectorSpec",
    "resumePolicy",
}
_PRINT = (
    "print them there, as name=value lines (Katib's StdOut format) or with trial_runner.report()"
)


def from_experiment(doc: dict[str, Any], name: str | None = None) -> Conversion:
    """The Study a Katib Experiment becomes; ImportProblem if it cannot become one."""
    notes = Notes()
    metadata = mapping(doc.get("metadata"), "metadata")
    spec = mapping(doc.get("spec"), "spec")
    if not spec:
        raise ImportProblem("spec", "the Experiment has no spec")
    algo, pruner = algorithm(spec, notes)
    params, names = parameters(spec, notes)
    out: dict[str, Any] = {**_objective(spec, notes), "parameters": params, "algorithm": algo}
    if pruner is not None and spec.get("earlyStopping"):
        notes.add("spec.earlyStopping", "dropped: hyperband's pruner stops the trials instead")
    pruner = pruner or early_stopping(spec, notes)
    if pruner is not None:
        out["earlyStopping"] = pruner
    out["budget"] = _budget(spec, notes)
    if "goal" in out:
        out["goal"] = out.pop("goal")
    _metrics_collector(spec, notes)
    out["trialTemplate"] = _template(spec, names, metadata.get("namespace"), notes)
    template = out["trialTemplate"]
    unused(names, template.get("pod") or template["workload"], notes)
    if spec.get("resumePolicy") not in (None, "Never"):
        notes.add(
            "spec.resumePolicy",
            f"{spec['resumePolicy']} is not carried over: a Study ends when its budget is spent;"
            " to search on, start a new Study warm-started from it (warmStart.fromStudies)",
        )
    rest = sorted(set(spec) - _SPEC_FIELDS)
    if rest:
        notes.add("spec", f"fields not carried over: {', '.join(rest)}")
    document = study(name or study_name(metadata.get("name")), metadata.get("namespace"), out)
    return Conversion(document, notes.lines, f"Katib Experiment {metadata.get('name')}")


def _objective(spec: dict[str, Any], notes: Notes) -> dict[str, Any]:
    where = "spec.objective"
    objective = mapping(spec.get("objective"), where)
    kind = objective.get("type")
    if kind not in ("maximize", "minimize"):
        raise ImportProblem(f"{where}.type", f"must be maximize or minimize (got {kind!r})")
    metric = objective.get("objectiveMetricName")
    if not isinstance(metric, str) or not metric:
        raise ImportProblem(
            f"{where}.objectiveMetricName", "the Experiment needs an objective metric"
        )
    out: dict[str, Any] = {"objectives": [{"name": metric, "direction": kind}]}
    if objective.get("goal") is not None:
        out["goal"] = {metric: number(objective["goal"], f"{where}.goal")}
    extra = objective.get("additionalMetricNames") or []
    if extra:
        notes.add(
            f"{where}.additionalMetricNames",
            f"{', '.join(map(str, extra))}: Tradeoff records every metric a trial reports; to"
            " optimise one as well, add it to spec.objectives (a Study has several objectives)",
        )
    strategies = {
        str(s.get("name")): s.get("value")
        for s in objective.get("metricStrategies") or []
        if isinstance(s, dict)
    }
    best = strategies.get(metric, "max" if kind == "maximize" else "min")
    if best != "latest":
        notes.add(
            f"{where}.metricStrategies",
            f"Katib took the {best} of the values a trial printed for {metric}; Tradeoff takes"
            " the last one printed (print the final value last)",
        )
    others = sorted(n for n, v in strategies.items() if n != metric and v != "latest")
    if others:
        notes.add(
            f"{where}.metricStrategies",
            f"{', '.join(others)}: Tradeoff keeps the last value printed, not the min or max",
        )
    return out


def _budget(spec: dict[str, Any], notes: Notes) -> dict[str, Any]:
    out: dict[str, Any] = {}
    counts = {
        k: spec.get(k) for k in ("maxTrialCount", "parallelTrialCount", "maxFailedTrialCount")
    }
    for key, value in counts.items():
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ImportProblem(f"spec.{key}", f"must be a whole number (got {value!r})")
    if counts["maxTrialCount"] is not None:
        out["maxTrials"] = counts["maxTrialCount"]
    else:
        notes.add(
            "spec.maxTrialCount",
            "not set: Katib runs until the goal or the algorithm's end; a Study needs a budget"
            " and takes its default, budget.maxTrials: 20",
        )
    out["parallelism"] = counts["parallelTrialCount"] or 3  # Katib's default
    failed = counts["maxFailedTrialCount"]
    if failed is None:
        out["maxFailedTrials"] = out.get("maxTrials", 20)
        notes.add(
            "spec.maxFailedTrialCount",
            "not set: Katib does not fail the Experiment for failed trials; maxFailedTrials is"
            " set to the trial budget",
        )
    else:
        out["maxFailedTrials"] = max(failed, 1)
        if failed == 0:
            notes.add(
                "spec.maxFailedTrialCount", "0 became 1: the study fails at its first failed trial"
            )
    return out


def _metrics_collector(spec: dict[str, Any], notes: Notes) -> None:
    where = "spec.metricsCollectorSpec"
    given = mapping(spec.get("metricsCollectorSpec"), where)
    kind = mapping(given.get("collector"), f"{where}.collector").get("kind", "StdOut")
    source = mapping(given.get("source"), f"{where}.source")
    path = mapping(source.get("fileSystemPath"), f"{where}.source.fileSystemPath").get("path")
    if kind == "StdOut":
        if mapping(source.get("filter"), f"{where}.source.filter").get("metricsFormat"):
            notes.add(
                f"{where}.source.filter.metricsFormat",
                "a custom metrics format is not carried over: Tradeoff reads name=value lines"
                " (Katib's default format) and TRADEOFF_METRICS JSON lines from standard output",
            )
        return
    what = {
        "File": f"metrics were read from the file {path}",
        "TensorFlowEvent": f"metrics were read from TensorFlow event files in {path}",
        "PrometheusMetric": "metrics were scraped from the trial's Prometheus endpoint",
        "Custom": "metrics were read by a custom collector container",
        "Push": "metrics were pushed to Katib's database (report_metrics)",
        "None": "Katib collected no metrics",
    }.get(str(kind), f"the {kind} collector is unknown")
    notes.add(
        f"{where}.collector.kind",
        f"{kind}: {what}; Tradeoff reads a trial's metrics from its standard output: {_PRINT}",
    )


def _template(
    spec: dict[str, Any], names: dict[str, str], namespace: Any, notes: Notes
) -> dict[str, Any]:
    where = "spec.trialTemplate"
    template = mapping(spec.get("trialTemplate"), where)
    if template.get("configMap") is not None:
        cm = mapping(template["configMap"], f"{where}.configMap")
        raise ImportProblem(
            f"{where}.configMap",
            f"the trial template is in ConfigMap {cm.get('configMapName')!r}: put its"
            " trialSpec in the Experiment (trialTemplate.trialSpec) and import again",
        )
    if template.get("trialSpec") is None:
        raise ImportProblem(f"{where}.trialSpec", "the Experiment has no trial template")
    primary = template.get("primaryContainerName")
    primary = primary if isinstance(primary, str) and primary else None
    workload = workload_pod(template["trialSpec"], primary, notes, f"{where}.trialSpec")
    values = trial_parameters(template, names, namespace)
    body = substitute(workload.pod or workload.workload, values, f"{where}.trialSpec")
    for field in ("successCondition", "failureCondition"):
        if template.get(field):
            why = (
                "Tradeoff knows when a trial's workload succeeded or failed (its kind's conditions)"
                if workload.workload is not None
                else "a trial succeeds when its primary container exits 0 and has reported"
                " the objective"
            )
            notes.add(f"{where}.{field}", f"not needed: {why}")
    if template.get("primaryPodLabels"):
        why = (
            "the primary replica's first pod reports the metrics"
            if workload.workload is not None
            else "the trial's one pod is its primary pod"
        )
        notes.add(f"{where}.primaryPodLabels", f"not needed: {why}")
    if template.get("retain"):
        notes.add(
            f"{where}.retain",
            "not carried over: a trial's result stays on its Trial object, whatever becomes"
            " of its pod",
        )
    out: dict[str, Any] = {}
    if workload.retries is not None:
        out["retries"] = workload.retries
    if workload.active_deadline is not None:
        out["activeDeadline"] = workload.active_deadline
    trainjob = (workload.workload or {}).get("kind") == "TrainJob"
    if primary is not None and trainjob:
        notes.add(
            f"{where}.primaryContainerName",
            "not needed: a TrainJob's trainer container (node) reports the metrics",
        )
    elif primary is not None:
        out["primaryContainer"] = primary
    out["pod" if workload.pod is not None else "workload"] = body
    return out

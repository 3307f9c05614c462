"""What a trial's pod says about its attempt: still going, or how it ended (pure).

The termination message of the primary container is authoritative for final metric
values; the log supplies everything else. Economics come from the pod's resources, the
container's measured run time and the node's labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import Study
from tradeoff.economics import (
    EconomicsConfig,
    config_for_node,
    node_info_from_node,
    price_trial,
    resources_from_pod_spec,
)
from tradeoff.engine import Engine
from tradeoff.trial_output import TrialOutput

Obj = dict[str, Any]
Phase = Literal["missing", "pending", "running", "ended"]
POD_REASONS = {"Evicted": "Evicted", "DeadlineExceeded": "DeadlineExceeded", "NodeLost": "PodLost"}


@dataclass(frozen=True)
class Ending:
    """How an attempt ended: the trial's next state with its reason and results."""

    state: Literal["Succeeded", "Failed", "Pruned"]
    reason: str | None = None
    message: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    values: list[float] | None = None
    feasible: bool | None = None
    violations: dict[str, float] = field(default_factory=dict)
    economics: TrialEconomics | None = None


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def container_status(pod: Obj, container: str) -> Obj:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return dict(status)
    return {}


def terminated_state(pod: Obj, container: str) -> Obj:
    return dict((container_status(pod, container).get("state") or {}).get("terminated") or {})


def phase(pod: Obj | None) -> Phase:
    if pod is None:
        return "missing"
    value = (pod.get("status") or {}).get("phase")
    if value in ("Succeeded", "Failed"):
        return "ended"
    return "running" if value == "Running" else "pending"


def run_window(pod: Obj, container: str, now: datetime) -> tuple[datetime | None, datetime]:
    """When the container started and finished (now, while it has not)."""
    term = terminated_state(pod, container)
    running = (container_status(pod, container).get("state") or {}).get("running") or {}
    started = parse_time(term.get("startedAt")) or parse_time(running.get("startedAt"))
    started = started or parse_time((pod.get("status") or {}).get("startTime"))
    return started, parse_time(term.get("finishedAt")) or now


def price(
    study: Study, pod: Obj, node: Obj | None, base: EconomicsConfig, container: str, now: datetime
) -> TrialEconomics | None:
    """Cost, energy and carbon of the attempt so far (None if it never started)."""
    started, finished = run_window(pod, container, now)
    if started is None:
        return None
    info = node_info_from_node(node) if node is not None else None
    config = config_for_node(base, info, study.spec.economics)
    try:
        resources = resources_from_pod_spec(pod.get("spec") or {})
    except ValueError:
        return None
    duration = max(0.0, (finished - started).total_seconds())
    return price_trial(resources, duration, config, region=info.region if info else None)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def failure(pod: Obj | None, container: str) -> tuple[str, str] | None:
    """(reason, message) if the attempt failed without a clean exit, else None."""
    if pod is None:
        return "PodLost", "the trial's pod was deleted before it finished"
    name = (pod.get("metadata") or {}).get("name", "")
    status = pod.get("status") or {}
    pod_reason = str(status.get("reason") or "")
    if pod_reason in POD_REASONS:
        detail = status.get("message") or pod_reason
        return POD_REASONS[pod_reason], f"pod {name}: {detail}"
    term = terminated_state(pod, container)
    code = term.get("exitCode")
    if status.get("phase") == "Failed" and code in (None, 0):
        return "PodLost", f"pod {name} failed: {status.get('message') or 'no exit code'}"
    if code not in (None, 0):
        why = term.get("reason") or "Error"
        tail = _last_line(str(term.get("message") or ""))
        message = f"container {container} exited with code {code} ({why})"
        return "Error", message + (f": {tail}" if tail else "")
    return None


def read_metrics(study: Study, log_text: str, termination_message: str) -> TrialOutput:
    """Metrics from the whole log, then the termination message (which wins)."""
    output = TrialOutput(study.spec.trial_template.metrics.format)
    output.feed_text(log_text)
    if termination_message.strip().startswith("{"):
        output.apply_summary(termination_message)
    return output


def judge(
    engine: Engine,
    study: Study,
    pod: Obj | None,
    container: str,
    output: TrialOutput | None,
    economics: TrialEconomics | None,
) -> Ending:
    """The outcome of an ended (or vanished) attempt."""
    failed = failure(pod, container)
    metrics = dict(output.final) if output is not None else {}
    if failed is not None:
        return Ending("Failed", failed[0], failed[1], metrics=metrics, economics=economics)
    evaluation = engine.evaluate(metrics, economics)
    if evaluation.values is None:
        message = evaluation.failure_message or "no objective values"
        if output is not None and output.problems:
            message += f"; {output.problems[0]}"
        return Ending(
            "Failed", evaluation.failure_reason, message, metrics=metrics, economics=economics
        )
    return Ending(
        "Succeeded",
        metrics=metrics,
        values=[v if math.isfinite(v) else 0.0 for v in evaluation.values],
        feasible=evaluation.feasible,
        violations=dict(evaluation.violations),
        economics=economics,
    )

"""What a trial's pod says about its attempt: still going, or how it ended (pure).

The termination message of the primary container is authoritative for final metric
values; the log supplies everything else. What the attempt cost is `pod_price`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.status import StudyState
from tradeoff.api.study import Study
from tradeoff.api.trial import Artifact
from tradeoff.engine import AttemptOutcome, StopDecision
from tradeoff.engine.attempt_ending import Ending
from tradeoff.kube.artifact_storage import recorded_root
from tradeoff.trial_output import TrialOutput
from tradeoff.trial_stream import excerpt

Obj = dict[str, Any]
Phase = Literal["missing", "pending", "running", "ended"]
POD_ENDINGS: dict[str, Ending] = {
    "Evicted": "evicted",
    "DeadlineExceeded": "deadline",
    "NodeLost": "lost",
}
FATAL_WAITING = (
    "CreateContainerConfigError",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerError",
)
"""Waiting reasons no amount of waiting fixes: the attempt fails at once."""
START_ERRORS = ("StartError", "ContainerCannotRun")
"""Terminated reasons of a container whose process never started (exit code 128)."""
PULL_WAITING = ("ErrImagePull", "ImagePullBackOff")
"""Waiting reasons that may clear up (a registry hiccup): fail after the pending timeout."""
NON_ROOT_HINT = (
    "; the pods are hardened (runAsNonRoot): build the image to run as a non-root user "
    "(USER 1000), or set securityContext (runAsUser, or runAsNonRoot: false) in trialTemplate.pod"
)


@dataclass(frozen=True)
class Stuck:
    """A pod that is not running yet and why: `fatal` ends the attempt now."""

    reason: str
    message: str
    fatal: bool


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


def _waiting_states(pod: Obj) -> list[tuple[str, Obj]]:
    status = pod.get("status") or {}
    found = []
    for key in ("initContainerStatuses", "containerStatuses"):
        for item in status.get(key) or []:
            waiting = (item.get("state") or {}).get("waiting")
            if waiting and waiting.get("reason"):
                found.append((str(item.get("name") or ""), dict(waiting)))
    return found


def stuck(pod: Obj, now: datetime, pending_timeout: float) -> Stuck | None:
    """Why a Pending pod is not running, when Kubernetes says so; None while it just starts.

    Configuration errors fail at once; image pull errors once the pod has been pending
    for `pending_timeout` seconds; an unschedulable pod keeps waiting (the cluster may
    grow) with the scheduler's message.
    """
    name = (pod.get("metadata") or {}).get("name", "")
    for container, waiting in _waiting_states(pod):
        reason = str(waiting["reason"])
        detail = excerpt(str(waiting.get("message") or reason))
        message = f"pod {name}, container {container}: {reason}: {detail}"
        if reason in FATAL_WAITING:
            if reason == "CreateContainerConfigError" and "root" in detail.lower():
                message += NON_ROOT_HINT
            return Stuck(reason, message, fatal=True)
        if reason in PULL_WAITING:
            created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
            waited = (now - created).total_seconds() if created is not None else 0.0
            if waited >= pending_timeout:
                limit = f"{pending_timeout:g}s"
                return Stuck(reason, f"{message} (still failing after {limit})", fatal=True)
            return Stuck(reason, message, fatal=False)
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            reason = str(condition.get("reason") or "Unschedulable")
            detail = excerpt(str(condition.get("message") or "no node fits the pod"))
            return Stuck(reason, f"pod {name} cannot be scheduled yet: {detail}", fatal=False)
    return None


def pull_due(pod: Obj, now: datetime, pending_timeout: float) -> float | None:
    """Seconds until a pod failing to pull its image has waited `pending_timeout` (when
    `stuck` calls it fatal: no event says so); None if it is not failing to pull."""
    if not any(str(w["reason"]) in PULL_WAITING for _, w in _waiting_states(pod)):
        return None
    created = parse_time((pod.get("metadata") or {}).get("creationTimestamp"))
    waited = (now - created).total_seconds() if created is not None else 0.0
    return max(0.0, pending_timeout - waited)


def quota_refusal(status: int, message: str) -> bool:
    """A pod creation refused only for now: a ResourceQuota is used up (403 Forbidden)."""
    return status == 403 and "exceeded quota" in message.lower()


def outcome(
    pod: Obj | None,
    container: str,
    output: TrialOutput | None,
    spent: TrialEconomics | None,
    stuck: Stuck | None = None,
) -> AttemptOutcome:
    """How an ended (or vanished, or stuck) attempt ended, for the engine's lifecycle."""
    if stuck is not None:
        return AttemptOutcome("start_error", cause=stuck.reason, detail=stuck.message)
    metrics = dict(output.final) if output is not None else {}
    said: dict[str, Any] = {
        "metrics": metrics,
        "artifacts": artifacts_of(pod, container, output),
        "invalid": dict(output.invalid) if output is not None else {},
        "problems": list(output.problems) if output is not None else [],
        "economics": spent,
    }
    if pod is None:
        return AttemptOutcome("lost", detail="the pod was deleted before it ended", **said)
    name = (pod.get("metadata") or {}).get("name", "")
    status = pod.get("status") or {}
    pod_reason = str(status.get("reason") or "")
    if pod_reason in POD_ENDINGS:
        detail = f"pod {name}: {status.get('message') or pod_reason}"
        return AttemptOutcome(POD_ENDINGS[pod_reason], detail=detail, **said)
    term = terminated_state(pod, container)
    code = term.get("exitCode")
    if (pod.get("metadata") or {}).get("deletionTimestamp") and code != 0:
        # Deleted while it ran: the kubelet's SIGTERM is not the trial's own failure.
        return AttemptOutcome("lost", detail=f"pod {name} was deleted while it ran", **said)
    if status.get("phase") == "Failed" and code in (None, 0):
        detail = f"pod {name} failed: {status.get('message') or 'no exit code'}"
        return AttemptOutcome("lost", detail=detail, **said)
    if term.get("reason") in START_ERRORS:  # the runtime could not start the process
        return AttemptOutcome(
            "start_error", cause=str(term["reason"]), detail=str(term.get("message") or "")
        )
    signal = term.get("signal")
    return AttemptOutcome(
        "exited",
        exit_code=None if code is None else int(code),
        signal=int(signal) if signal else None,
        cause=term.get("reason"),
        detail=str(term.get("message") or ""),
        **said,
    )


def artifacts_of(pod: Obj | None, container: str, output: TrialOutput | None) -> list[Artifact]:
    """The files the attempt says it saved, where its pod had artifact storage, by name:
    paths relative to the claim's root (the mount's subPath), or the objects' URLs in the
    bucket folder the operator gave the pod (never a URL the trial printed)."""
    if pod is None or output is None or not output.artifacts:
        return []
    spec = pod.get("spec") or {}
    primary: Obj = next((c for c in spec.get("containers") or [] if c.get("name") == container), {})
    root = recorded_root(primary)
    if root is None:
        return []
    return [
        Artifact(name=name, path=f"{root}{name}", size=size, sha256=sha)
        for name, (size, sha) in sorted(output.artifacts.items())
    ]


def new_output(study: Study) -> TrialOutput:
    """An empty parse of an attempt's output: the pruning metric's series is kept, every
    other metric only its latest value (memory does not grow with the output)."""
    return TrialOutput(
        study.spec.trial_template.metrics.format, series=(study.spec.pruning_metric,)
    )


def apply_termination(output: TrialOutput, termination_message: str) -> TrialOutput:
    """The termination message's summary wins over what the log said."""
    if termination_message.strip().startswith("{"):
        output.apply_summary(termination_message)
    return output


def study_stop(study_obj: Obj, name: str) -> StopDecision:
    """The stop decision a finished Study recorded (its Succeeded/Failed condition)."""
    status = study_obj.get("status") or {}
    state: StudyState = "Failed" if status.get("state") == "Failed" else "Succeeded"
    for condition in status.get("conditions") or []:
        if condition.get("type") == state and condition.get("reason"):
            message = str(condition.get("message") or f"study {name} ended")
            return StopDecision(state, str(condition["reason"]), message, cancel_running=True)
    return StopDecision(state, "StudyStopped", f"study {name} ended", cancel_running=True)

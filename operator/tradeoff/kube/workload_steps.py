"""Driving a trial whose attempt is a workload (Job, JobSet, PyTorchJob, TrainJob, ...).

Level-based like the pod path: each pass reads the attempt's workload and its pods (by
label) and acts. Where kopf runs, the driver is woken by the events of its workload (a
watch per allowed kind) and of its pods (they carry the trial's label), so it waits for
news rather than polling; `WORKLOAD_RECHECK` is only a safety net for a lost event. The
workload is created before `status.attempts` counts it, under a deterministic name, so a
restarted operator adopts it (create answers 409) and never makes a second one. The
metrics come from the primary pod's log; the economics are each pod's, priced as a trial
pod is, summed (the duration is the longest pod's run).
"""

from __future__ import annotations

import logging
from typing import Any

from kubernetes.client.exceptions import ApiException

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.policy import PolicyViolation
from tradeoff.api.study import Study
from tradeoff.api.trial import StepValue, Trial
from tradeoff.api.workload import Workload
from tradeoff.economics import add_attempt
from tradeoff.engine import AttemptOutcome, lifecycle
from tradeoff.kube import attempts
from tradeoff.kube.attemptlog import Interrupted, Park
from tradeoff.kube.client import Obj, now_utc
from tradeoff.kube.pods import pod_name, primary_container
from tradeoff.kube.settings import crash_point
from tradeoff.kube.trialbase import PENDING_POLL, Stopped, TrialBase
from tradeoff.kube.workloads import (
    WAITING_FOR_QUOTA,
    WorkloadState,
    build_workload,
    pod_selector,
    primary_pod,
    workload_state,
)
from tradeoff.trial_output import TrialOutput

log = logging.getLogger("tradeoff.operator")
WORKLOAD_RECHECK = 30.0
"""Seconds a driver woken by its workload's and pods' events looks again anyway (a lost
event still ends the trial)."""
UNLABELLED_PODS_RECHECK = 2.0
"""Seconds between looks for the primary pod of a workload whose pods carry no trial label
(a TrainJob's come from its runtime's templates): no pod event tells that it runs."""
WAITING_FOR_PODS = "WaitingForPods"
"""Reason of a trial whose workload exists but has no primary pod yet."""


class WorkloadSteps(TrialBase):
    """The steps of a trial whose attempts are workloads (mixed into `TrialDriver`)."""

    def _ended(self, study: Study, trial: Trial, outcome: AttemptOutcome) -> bool:
        raise NotImplementedError

    def _follow(self, study: Study, trial: Trial, pod: Obj, container: str) -> bool:
        raise NotImplementedError

    def _plural(self, workload: Workload) -> str | None:
        return self.ctx.settings.workload_resources.get((workload.api_version, workload.kind))

    def _start_workload(self, study: Study, trial: Trial, uid: str) -> bool:
        """Create (or adopt) the workload of the trial's next attempt, then count it."""
        workload = study.spec.trial_template.workload
        assert workload is not None
        note = trial.status.message if trial.status.reason == lifecycle.RETRYING else None
        status = lifecycle.begin_attempt(trial.status, note)
        plural = self._plural(workload)
        try:
            settings = self.ctx.settings
            store = settings.artifact_store
            body = build_workload(study, trial, uid, status.attempts, settings.trial_policy, store)
        except PolicyViolation as refused:
            outcome = AttemptOutcome("refused", cause="PolicyViolation", detail=str(refused))
            self._ended(study, trial, outcome)
            return False
        if plural is None:  # the policy allows it but no resource was named: a bad setting
            detail = f"{workload.kind} ({workload.api_version}) is not in TRADEOFF_WORKLOAD_KINDS"
            self._ended(study, trial, AttemptOutcome("refused", cause="NotAllowed", detail=detail))
            return False
        crash_point(self.ctx.settings, "before-pod-create")
        if self.stopped():
            raise Stopped
        name = body["metadata"]["name"]
        try:
            created = self.kube.create_workload(plural, self.namespace, body)
        except ApiException as error:
            if error.status not in (400, 403, 404, 422):
                raise
            said = str(error.body or error.reason)[:300]
            if error.status == 404:
                said = f"the cluster serves no {plural} in {workload.api_version}: install its CRD"
            detail = f"the {workload.kind} was refused ({error.status}): {said}"
            outcome = AttemptOutcome("refused", cause="WorkloadRejected", detail=detail)
            self._ended(study, trial, outcome)
            return False
        verb = "Created" if created else "Adopted existing"
        log.info("%s %s %s/%s", verb, workload.kind, self.namespace, name)
        crash_point(self.ctx.settings, "after-pod-create")
        self._write(status)
        return True

    def _workload_step(self, study: Study, trial: Trial) -> bool:
        """One pass over a started attempt's workload and pods."""
        workload = study.spec.trial_template.workload
        plural = self._plural(workload) if workload is not None else None
        assert workload is not None
        attempt = trial.status.attempts
        name = pod_name(self.name, attempt)
        obj = self.kube.get_workload(workload.api_version, plural or "", self.namespace, name)
        container = primary_container(study)
        if obj is None:
            lost = AttemptOutcome("lost", detail=f"{workload.kind} {name} was deleted")
            return self._ended(study, trial, lost)
        state = workload_state(workload, obj)
        if state.suspended:
            queue = workload.queue_name
            where = f" in Kueue queue {queue}" if queue else ""
            message = f"{workload.kind} {name} is suspended: waiting for quota{where}"
            if trial.status.message != message:
                self._waiting(trial, WAITING_FOR_QUOTA, message)
            self._await_workload(workload, None)
            return True
        selector = pod_selector(workload, name, self.name, attempt)
        pods = self.kube.select_pods(self.namespace, selector)
        primary = primary_pod(workload, pods)
        if state.ended:
            return self._finish_workload(study, trial, workload, state, pods, primary, container)
        phase = attempts.phase(primary)
        if primary is not None and phase == "pending":
            stuck = attempts.stuck(primary, now_utc(), self.ctx.settings.pending_timeout)
            if stuck is not None and stuck.fatal:
                outcome = attempts.outcome(primary, container, None, None, stuck)
                self.kube.delete_workload(workload.api_version, plural or "", self.namespace, name)
                return self._ended(study, trial, outcome)
            if stuck is not None and trial.status.message != stuck.message:
                self._waiting(trial, stuck.reason, stuck.message)
        if primary is None and trial.state == "Pending":
            message = f"{workload.kind} {name} has not made its primary pod yet"
            if trial.status.message != message:
                self._waiting(trial, WAITING_FOR_PODS, message)
        if primary is None or phase != "running":
            self._await_workload(workload, primary)
            return True
        if trial.state != "Running":
            status = lifecycle.started(trial.status, now_utc())
            status.pod_name = primary["metadata"]["name"]
            self._write(status)
            trial.status = status
        try:
            return self._follow(study, trial, primary, container)
        except Park as parked:  # the workload's end comes as its event; this is a safety net
            wait = WORKLOAD_RECHECK if parked.seconds is None else parked.seconds
            raise Park(min(wait, WORKLOAD_RECHECK)) from None

    def _await_workload(self, workload: Workload, primary: Obj | None) -> None:
        """Until news of the workload or its pods (their events wake the driver), the
        primary pod's pull timeout, or the safety re-check; outside kopf, a short sleep."""
        if not self.ctx.watching:
            self.sleep(PENDING_POLL)
            return
        wait = WORKLOAD_RECHECK
        if workload.is_trainjob:  # its pods carry no trial label: no event of theirs comes
            wait = UNLABELLED_PODS_RECHECK
        if primary is not None and attempts.phase(primary) == "pending":
            due = attempts.pull_due(primary, now_utc(), self.ctx.settings.pending_timeout)
            wait = wait if due is None else min(wait, due + 0.1)
        raise Park(wait)

    def _finish_workload(
        self,
        study: Study,
        trial: Trial,
        workload: Workload,
        state: WorkloadState,
        pods: list[Obj],
        primary: Obj | None,
        container: str,
    ) -> bool:
        """Judge the ended workload: metrics from the primary pod, economics of all pods."""
        output: TrialOutput | None = None
        if primary is not None:
            message = str(attempts.terminated_state(primary, container).get("message") or "")
            try:
                read = self.log.ended_output(study, primary, container)
            except Interrupted:
                raise Stopped from None
            output = attempts.apply_termination(read, message)
            status = trial.status.model_copy(deep=True)
            series = output.series_of(study.spec.pruning_metric)
            status.intermediate = [StepValue(step=k, value=v) for k, v in series]
            status.last_intermediate = {k: v for k, (_, v) in output.latest.items()}
            status.pod_name = primary["metadata"]["name"]  # also when it ended unseen
            trial.status = status
        spent = self._workload_price(study, pods, primary, container, output)
        said: dict[str, Any] = {
            "artifacts": attempts.artifacts_of(primary, container, output),
            "metrics": dict(output.final) if output is not None else {},
            "invalid": dict(output.invalid) if output is not None else {},
            "problems": list(output.problems) if output is not None else [],
            "economics": spent,
        }
        crash_point(self.ctx.settings, "before-trial-finish")
        kind = f"{workload.kind} {pod_name(self.name, trial.status.attempts)}"
        if state.failed:
            detail = f"{kind} failed: {state.message or 'its failure condition holds'}"
            outcome = AttemptOutcome("failed", cause="WorkloadFailed", detail=detail, **said)
        else:
            outcome = AttemptOutcome("exited", exit_code=0, detail=state.message, **said)
        return self._ended(study, trial, outcome)

    def _workload_price(
        self,
        study: Study,
        pods: list[Obj],
        primary: Obj | None,
        container: str,
        output: TrialOutput | None,
    ) -> TrialEconomics | None:
        """Each pod priced as a trial pod is, summed; the duration is the longest run."""
        total: TrialEconomics | None = None
        longest = 0.0
        for pod in pods:
            names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
            own = container if container in names or not names else str(names[0])
            reported = output.final if output is not None and pod is primary else None
            spent = self._price(study, pod, own, reported)
            if spent is None:
                continue
            longest = max(longest, spent.duration_seconds)
            total = add_attempt(total, spent)
        if total is not None:
            total = total.model_copy(update={"duration_seconds": longest})
        return total

    def _stop_workload(self, study: Study, trial: Trial) -> None:
        """Delete the running attempt's workload (its pods go with it)."""
        workload = study.spec.trial_template.workload
        if workload is None or not trial.status.attempts:
            return
        name = pod_name(self.name, trial.status.attempts)
        plural = self._plural(workload) or ""
        self.kube.delete_workload(workload.api_version, plural, self.namespace, name)

    def _attempt_pods(self, study: Study, trial: Trial) -> list[Obj]:
        workload = study.spec.trial_template.workload
        if workload is None or not trial.status.attempts:
            return []
        name = pod_name(self.name, trial.status.attempts)
        selector = pod_selector(workload, name, self.name, trial.status.attempts)
        return self.kube.select_pods(self.namespace, selector)

"""The steps of a trial whose attempts are single pods: creating the pod, judging its end.

Mixed into `TrialDriver`, as `WorkloadSteps` is for workloads. `_start_attempt` builds the
attempt's pod (or the Ensemble trial's), refuses what the trial policy refuses, waits
while a quota is exhausted, and counts the attempt only once its pod exists, so a
restarted operator never makes a second pod for it. `_finish` reads how the pod ended
(its log, its termination message, its price) and hands the outcome to the lifecycle.
"""

from __future__ import annotations

import json
import logging
import time

from kubernetes.client.exceptions import ApiException

from tradeoff.api.policy import PolicyViolation
from tradeoff.api.study import Study
from tradeoff.api.trial import StepValue, Trial, TrialStatus
from tradeoff.engine import AttemptOutcome, lifecycle
from tradeoff.kube import attempts
from tradeoff.kube.attemptlog import Interrupted
from tradeoff.kube.client import Obj
from tradeoff.kube.ensembles import build_ensemble_pod
from tradeoff.kube.pods import build_pod
from tradeoff.kube.settings import crash_point
from tradeoff.kube.trialbase import QUOTA_EXCEEDED, QUOTA_RETRY, Stopped, TrialBase
from tradeoff.trial_output import TrialOutput

__all__ = ["PodSteps", "set_intermediate"]

log = logging.getLogger("tradeoff.operator")


class PodSteps(TrialBase):
    """The steps of a trial whose attempts are pods (mixed into `TrialDriver`)."""

    def _ended(self, study: Study, trial: Trial, outcome: AttemptOutcome) -> bool:
        raise NotImplementedError

    def _records(self, study: Study) -> list[Trial]:
        raise NotImplementedError

    def _start_attempt(self, study: Study, trial: Trial, uid: str) -> bool:
        """Create the pod of the trial's next attempt, then count the attempt."""
        note = trial.status.message if trial.status.reason == lifecycle.RETRYING else None
        status = lifecycle.begin_attempt(trial.status, note)
        attempt = status.attempts
        settings = self.ctx.settings
        try:
            if trial.is_ensemble:
                if settings.artifact_store is None:
                    why = ("the operator has no artifact store (artifacts.persistentVolumeClaim"
                           " or artifacts.s3)")  # fmt: skip
                    self._ended(study, trial, AttemptOutcome("refused", cause="NoArtifactStore",
                                                             detail=why))  # fmt: skip
                    return False
                pod = build_ensemble_pod(
                    study, trial, uid, attempt, self._records(study),
                    image=settings.operator_image, store=settings.artifact_store,
                    policy=settings.trial_policy,
                )  # fmt: skip
            else:
                pod = build_pod(
                    study, trial, uid, attempt, settings.trial_policy, settings.artifact_store
                )
        except PolicyViolation as refused:  # never create what the policy refuses
            log.error("Trial %s/%s: the trial policy refuses its pod", self.namespace, self.name)
            refusal = AttemptOutcome("refused", cause="PolicyViolation", detail=str(refused))
            self._ended(study, trial, refusal)
            return False
        crash_point(self.ctx.settings, "before-pod-create")
        if self.stopped():
            raise Stopped
        if self.ctx.watching:  # its events from the start: no need to read it
            self.ctx.pods.expect(self.namespace, pod["metadata"]["name"])
            self._expected.add(pod["metadata"]["name"])
            self._created = (pod["metadata"]["name"], time.monotonic())
        try:
            if self.kube.create_pod(self.namespace, pod):
                log.info("Created pod %s/%s", self.namespace, pod["metadata"]["name"])
        except ApiException as error:
            if error.status not in (400, 403, 422):
                raise
            message = _api_message(error)
            if attempts.quota_refusal(error.status, message):
                # Temporary: pods of other trials (or other work) will free the quota.
                wait = f"waiting for quota to create pod {pod['metadata']['name']}: {message}"
                if trial.status.message != wait:
                    self._waiting(trial, QUOTA_EXCEEDED, wait)
                self.sleep(QUOTA_RETRY)
                return True
            detail = f"the pod was refused ({error.status}): {message}"
            self._ended(study, trial, AttemptOutcome("refused", cause="PodRejected", detail=detail))
            return False
        crash_point(self.ctx.settings, "after-pod-create")
        if attempt > 1:
            crash_point(self.ctx.settings, "after-retry-pod-create")
        status.pod_name = pod["metadata"]["name"]
        self._write(status)
        return True

    def _finish(
        self,
        study: Study,
        trial: Trial,
        pod: Obj | None,
        container: str,
        stuck: attempts.Stuck | None = None,
    ) -> bool:
        """Judge how the attempt ended (or why it could not start); True if it is retried."""
        output: TrialOutput | None = None
        spent = None
        if pod is not None and stuck is None:
            message = str(attempts.terminated_state(pod, container).get("message") or "")
            try:
                said = self.log.ended_output(study, pod, container)
            except Interrupted:
                raise Stopped from None
            output = attempts.apply_termination(said, message)
            spent = self._price(study, pod, container, output.final)
        if output is not None:
            status = trial.status.model_copy(deep=True)
            set_intermediate(status, study, output)
            trial.status = status
        crash_point(self.ctx.settings, "before-trial-finish")
        retry = self._ended(study, trial, attempts.outcome(pod, container, output, spent, stuck))
        if stuck is not None and pod is not None:  # it would wait (bound to nothing) forever
            self.kube.delete_pod(self.namespace, pod["metadata"]["name"], grace_seconds=0)
        return retry


def set_intermediate(status: TrialStatus, study: Study, output: TrialOutput) -> None:
    """`status` with the intermediate values `output` holds (the pruning metric's series)."""
    series = output.series_of(study.spec.pruning_metric)
    status.intermediate = [StepValue(step=s, value=v) for s, v in series]
    status.last_intermediate = {k: v for k, (_, v) in output.latest.items()}


def _api_message(error: ApiException) -> str:
    try:
        return str(json.loads(error.body or "{}").get("message") or error.reason)[:300]
    except ValueError:
        return str(error.reason)

"""Driving one Trial: the pod of its current attempt, its log, and how it ended.

Level-based: every pass reads the Trial, its Study and the attempt's pod and acts on what
it finds. The pod of attempt `k` is created before `status.attempts` says `k`, so after
a restart a missing pod of the recorded attempt means the pod was lost, never that it
was not created yet. The end of a trial is recorded before its pod is deleted.
`TrialDriver` decides which step is due; the pod's own steps (create, judge its end) are
`PodSteps`, a workload's are `WorkloadSteps`.
"""

from __future__ import annotations

import logging

from tradeoff.api.errors import ManifestError
from tradeoff.api.study import Study
from tradeoff.api.trial import Trial, TrialStatus
from tradeoff.engine import AttemptOutcome, ensembles, lifecycle
from tradeoff.engine.validation import choose_algorithm
from tradeoff.kube import attempts
from tradeoff.kube.cache import checked_record
from tradeoff.kube.client import Obj, now_utc
from tradeoff.kube.context import warn_foreign
from tradeoff.kube.ensembles import CONTAINER, ensemble_status
from tradeoff.kube.events import object_ref
from tradeoff.kube.ownership import owned_by
from tradeoff.kube.pod_steps import PodSteps, set_intermediate
from tradeoff.kube.pods import pod_name, primary_container
from tradeoff.kube.studies import reconcile_study
from tradeoff.kube.trialbase import (
    INVALID_RECHECK,
    PENDING_POLL,
    QUOTA_EXCEEDED,
    QUOTA_RETRY,
    TERMINAL,
    Stopped,
)
from tradeoff.kube.workload_steps import WorkloadSteps
from tradeoff.trial_output import TrialOutput

__all__ = ["PENDING_POLL", "QUOTA_EXCEEDED", "QUOTA_RETRY", "Stopped", "TrialDriver"]

log = logging.getLogger("tradeoff.operator")


class TrialDriver(WorkloadSteps, PodSteps):
    """Runs one Trial to its end; `run()` returns when it ended or the driver must stop."""

    def step(self) -> bool:
        """Act once on what is; False when there is nothing more to do."""
        obj = self._obj or self.kube.get_object("trials", self.namespace, self.name)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return False
        trial, problem = checked_record(obj)
        if trial is None:
            # Watching, the Trials informer said why already (`cache.trial_entry`).
            say = log.debug if self.ctx.watching else log.warning
            say("Trial %s/%s: %s; left out", self.namespace, self.name, problem)
            return False
        if trial.finished or lifecycle.waits_for_resume(trial.state, trial.status.reason):
            return False  # a trial a stop rule cancelled runs again when its study resumes
        study_obj = self._study(trial.spec.study)
        if study_obj is None:
            return False
        if not owned_by(obj, str(study_obj["metadata"].get("uid", ""))):
            warn_foreign(self.ctx, study_obj, obj)  # never run a pod for it
            return False
        try:
            # An invalid spec, or a template the trial policy refuses (after an edit):
            # start nothing, and judge what runs once the spec is fixed.
            study, recorded = self.ctx.checked.check(study_obj, self.ctx.settings.trial_policy)
        except ManifestError:  # an edit of the Study wakes its drivers (`TrialDrivers`)
            self.sleep(INVALID_RECHECK if self.ctx.watching else 1.0)
            return True
        uid = str(obj["metadata"].get("uid", ""))
        attempt = trial.status.attempts
        # The Ensemble trial is made once the search is over: the study's end stops it not.
        if (study_obj.get("status") or {}).get("state") in TERMINAL and not trial.is_ensemble:
            self._stop_for_study(study, study_obj, trial)
            return False
        if _attempt_due(trial.status):
            created = attempts.parse_time(obj["metadata"].get("creationTimestamp"))
            if trial.status.attempts == 0 and self._carbon_wait(study, trial, created):
                return True
            if study.spec.trial_template.workload is not None and not trial.is_ensemble:
                return self._start_workload(study, trial, uid)
            return self._start_attempt(study, trial, uid)
        self._algorithm = choose_algorithm(study.spec, recorded).name
        self._study_uid = str(study_obj["metadata"].get("uid", ""))
        # The Ensemble trial is one pod of the operator's image, whatever the template.
        if study.spec.trial_template.workload is not None and not trial.is_ensemble:
            return self._workload_step(study, trial)
        container = CONTAINER if trial.is_ensemble else primary_container(study)
        pod = self._pod(pod_name(self.name, attempt))
        phase = attempts.phase(pod)
        if phase == "pending" and pod is not None:
            stuck = attempts.stuck(pod, now_utc(), self.ctx.settings.pending_timeout)
            if stuck is not None and stuck.fatal:
                return self._finish(study, trial, pod, container, stuck)
            if stuck is not None and trial.status.message != stuck.message:
                self._waiting(trial, stuck.reason, stuck.message)
            self._await_pod(pod)
            return True
        if phase == "running" and pod is not None:
            if trial.state != "Running":
                self._settle(pod["metadata"]["name"])  # a short trial may end at once
                status = lifecycle.started(trial.status, now_utc())
                self._write(status)
                trial.status = status
            return self._follow(study, trial, pod, container)
        return self._finish(study, trial, pod, container)

    def _follow(self, study: Study, trial: Trial, pod: Obj, container: str) -> bool:
        """Parse the log while the pod runs; record intermediate values; prune if told to."""

        def progress(seen: TrialOutput) -> bool:
            return self._progress(study, trial, pod, container, seen)

        if self.ctx.watching:  # woken by the pod's events and the log's news
            interval = self.ctx.settings.status_interval
            return self.log.look(study, pod, container, interval, progress, self.wake)

        def study_ended() -> bool:
            found = self._study(study.metadata.name)
            return (found or {}).get("status", {}).get("state") in TERMINAL

        return self.log.follow(
            study,
            pod,
            container,
            self.ctx.settings.status_interval,
            progress,
            study_ended,
        )

    def _progress(
        self,
        study: Study,
        trial: Trial,
        pod: Obj,
        container: str,
        output: TrialOutput,
    ) -> bool:
        """Write the intermediate values; True if the trial was pruned."""
        status = trial.status.model_copy(deep=True)
        set_intermediate(status, study, output)
        trial.status = status
        if study.spec.early_stopping.algorithm != "none":
            study_uid = str(study.metadata.uid or "")
            records, _ = self.ctx.owned_trials(
                self.namespace, study.metadata.name, study_uid, len(study.spec.objectives)
            )
            records = [trial if r.number == trial.number else r for r in records]
            kept_engine = self.ctx.engines.use(
                self.namespace, study, self._study_uid, self._algorithm
            )
            with kept_engine as kept:
                decision = kept.should_prune(records, trial.number)
            status.pruning_state = dict(decision.pruning_state)
            if decision.prune:
                workload = study.spec.trial_template.workload is not None
                if workload:
                    pods = self._attempt_pods(study, trial)
                    spent = self._workload_price(study, pods, pod, container, output)
                else:
                    spent = self._price(study, pod, container, output.final)
                pruned = AttemptOutcome(
                    "pruned", metrics=output.final, invalid=output.invalid, economics=spent
                )
                self._ended(study, trial, pruned)
                if workload:
                    self._stop_workload(study, trial)
                else:
                    self.kube.delete_pod(self.namespace, pod["metadata"]["name"], grace_seconds=0)
                return True
        self._write(status)
        return False

    def _records(self, study: Study) -> list[Trial]:
        uid = str(study.metadata.uid or "")
        width = len(study.spec.objectives)
        return self.ctx.owned_trials(self.namespace, study.metadata.name, uid, width)[0]

    def _ended(self, study: Study, trial: Trial, outcome: AttemptOutcome) -> bool:
        """Write what the lifecycle says of the ended attempt; True if it is retried."""
        if trial.is_ensemble and outcome.ending == "exited" and outcome.exit_code == 0:
            got = ensemble_status(study, trial, dict(outcome.metrics), self._records(study))
            done = ensembles.failed(trial.status, got) if isinstance(got, str) else got
            self._end(study, trial, done)
            return False
        now = now_utc()
        move = lifecycle.end_attempt(study.spec, trial.status, outcome, now=now)
        if move.finished:
            self._end(study, trial, move.status)
            return False
        self._write(move.status)
        trial.status = move.status
        if move.retry:
            note = move.status.message or ""
            log.info("Trial %s/%s: %s", self.namespace, self.name, note)
            self.kube.event(object_ref(trial, self.namespace), "Warning", "TrialRetrying", note)
        return move.retry

    def _stop_for_study(self, study: Study, study_obj: Obj, trial: Trial) -> None:
        """The study is over: cancel this trial as its stop rule says and stop its pod."""
        stop = attempts.study_stop(study_obj, study.metadata.name)
        status = trial.status
        pod = None
        under_way = status.attempts and not _attempt_due(status)
        workload = study.spec.trial_template.workload is not None
        spent = None
        if under_way and workload:
            pods = self._attempt_pods(study, trial)
            spent = self._workload_price(study, pods, None, primary_container(study), None)
        elif under_way:  # an attempt is under way
            pod = self._pod(pod_name(self.name, status.attempts))
        if pod is not None:
            spent = self._price(study, pod, primary_container(study))
        outcome = AttemptOutcome("cancelled", economics=spent)
        move = lifecycle.end_attempt(
            study.spec, status, outcome, now=now_utc(), stopped=stop.message
        )
        self._write(move.status)
        trial.status = move.status
        log.info("Trial %s/%s: %s", self.namespace, self.name, move.status.message)
        self.kube.event(
            object_ref(trial, self.namespace), "Normal", "TrialCancelled", move.status.message or ""
        )
        if pod is not None:
            self.kube.delete_pod(self.namespace, pod["metadata"]["name"], grace_seconds=0)
        if under_way and workload:
            self._stop_workload(study, trial)
        # A finished Study rests (no timer passes): its counts are brought up to date now.
        reconcile_study(self.ctx, self.namespace, study.metadata.name)


def _attempt_due(status: TrialStatus) -> bool:
    """The trial's next attempt is due (its last one, if any, has been judged)."""
    return lifecycle.needs_attempt(status) or status.reason == QUOTA_EXCEEDED

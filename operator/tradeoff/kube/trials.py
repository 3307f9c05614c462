"""Driving one Trial: the pod of its current attempt, its log, and how it ended.

Level-based: every pass reads the Trial, its Study and the attempt's pod and acts on what
it finds. The pod of attempt `k` is created before `status.attempts` says `k`, so after
a restart a missing pod of the recorded attempt means the pod was lost, never that it
was not created yet. The end of a trial is recorded before its pod is deleted.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from kubernetes.client.exceptions import ApiException

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.errors import ManifestError
from tradeoff.api.study import Study
from tradeoff.api.trial import INTERMEDIATE_CAP, StepValue, Trial, TrialStatus
from tradeoff.economics import add_attempt
from tradeoff.engine import Engine, cancelled_outcome
from tradeoff.engine.validation import choose_algorithm, validate_study
from tradeoff.kube import attempts
from tradeoff.kube.client import Obj, now_utc
from tradeoff.kube.events import object_ref, trial_outcome_events
from tradeoff.kube.logs import LogFollower
from tradeoff.kube.pods import build_pod, pod_name, primary_container
from tradeoff.kube.reconcile import previous_status, records_of
from tradeoff.kube.settings import crash_point
from tradeoff.kube.status import set_condition, values_summary
from tradeoff.kube.studies import Context, reconcile_study
from tradeoff.trial_output import TrialOutput

log = logging.getLogger("tradeoff.operator")
PENDING_POLL = 0.4
LOG_POLL = 0.2
STUDY_CHECK = 2.0
"""Seconds between reads of the Study and the pod while a log is followed."""
QUOTA_RETRY = 5.0
"""Seconds before creating a pod a ResourceQuota refused is tried again."""
WAITING_REASONS = ("Unschedulable", "QuotaExceeded", *attempts.PULL_WAITING)
TERMINAL = ("Succeeded", "Failed")


class Stopped(Exception):
    """The driver must stop (operator shutting down or paused): write nothing more."""


class TrialDriver:
    """Runs one Trial to its end; `run()` returns when it ended or the driver must stop."""

    def __init__(
        self,
        ctx: Context,
        namespace: str,
        name: str,
        stopped: Callable[[], bool],
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        self.ctx, self.kube = ctx, ctx.kube
        self.namespace, self.name = namespace, name
        self.stopped, self.sleep = stopped, sleep
        self._nodes: dict[str, Obj | None] = {}

    def run(self) -> None:
        try:
            while not self.stopped() and self.step():
                pass
        except Stopped:
            return

    # -- one pass ----------------------------------------------------------------------
    def step(self) -> bool:
        """Act once on what is; False when there is nothing more to do."""
        obj = self.kube.get_object("trials", self.namespace, self.name)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            return False
        found = records_of([obj])
        if not found:
            log.warning("Trial %s/%s does not parse; leaving it alone", self.namespace, self.name)
            return False
        trial = found[0]
        if trial.finished:
            return False
        study_obj = self.kube.get_object("studies", self.namespace, trial.spec.study)
        if study_obj is None:
            return False
        recorded = previous_status(study_obj).algorithm
        try:
            body = {k: v for k, v in study_obj.items() if k != "status"}
            study = validate_study(body, recorded=recorded)
        except ManifestError:
            self.sleep(1.0)
            return True
        uid = str(obj["metadata"].get("uid", ""))
        attempt = trial.status.attempts
        if (study_obj.get("status") or {}).get("state") in TERMINAL:
            self._stop_for_study(study, study_obj, trial)
            return False
        if attempt == 0:
            return self._start_attempt(study, trial, uid, 1)
        container = primary_container(study)
        pod = self.kube.get_pod(self.namespace, pod_name(self.name, attempt))
        phase = attempts.phase(pod)
        engine = Engine(study.spec, choose_algorithm(study.spec, recorded).name)
        if phase == "pending" and pod is not None:
            stuck = attempts.stuck(pod, now_utc(), self.ctx.settings.pending_timeout)
            if stuck is not None and stuck.fatal:
                return self._finish(engine, study, trial, uid, pod, container, stuck)
            if stuck is not None and trial.status.message != stuck.message:
                self._waiting(trial, stuck.reason, stuck.message)
            self.sleep(PENDING_POLL)
            return True
        if phase == "running" and pod is not None:
            if trial.state != "Running":
                status = trial.status.model_copy(deep=True)
                status.state = "Running"
                status.start_time = status.start_time or now_utc()
                if status.reason in WAITING_REASONS:
                    status.reason = status.message = None
                self._write(status)
                trial.status = status
            return self._follow(engine, study, trial, pod, container)
        return self._finish(engine, study, trial, uid, pod, container)

    # -- attempts ----------------------------------------------------------------------
    def _start_attempt(
        self,
        study: Study,
        trial: Trial,
        uid: str,
        attempt: int,
        note: str | None = None,
        spent: TrialEconomics | None = None,
    ) -> bool:
        pod = build_pod(study, trial, uid, attempt)
        status = trial.status.model_copy(deep=True)
        if spent is not None:  # what the failed attempt before this one cost
            status.economics = add_attempt(status.economics, spent)
        crash_point(self.ctx.settings, "before-pod-create")
        if self.stopped():
            raise Stopped
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
                    self._waiting(trial, "QuotaExceeded", wait)
                self.sleep(QUOTA_RETRY)
                return True
            reason = f"the pod was refused ({error.status}): {message}"
            status.state, status.reason, status.message = "Failed", "PodRejected", reason
            self._end(study, trial, status)
            return False
        crash_point(self.ctx.settings, "after-pod-create")
        if attempt > 1:
            crash_point(self.ctx.settings, "after-retry-pod-create")
        status.attempts = attempt
        status.pod_name = pod["metadata"]["name"]
        status.state = "Pending"
        status.reason, status.message = None, note
        self._write(status)
        return True

    def _follow(self, engine: Engine, study: Study, trial: Trial, pod: Obj, container: str) -> bool:
        """Read the log while the pod runs; record intermediate values; prune if told to."""
        follower = LogFollower(self.kube, self.namespace, pod["metadata"]["name"], container)
        output = TrialOutput(study.spec.trial_template.metrics.format)
        metric = study.spec.pruning_metric
        started = last_write = last_check = time.monotonic()
        written = len(trial.status.intermediate)
        follower.start()
        try:
            while not self.stopped():
                for line in follower.drain(LOG_POLL):
                    output.feed(line)
                steps = len(output.intermediate.get(metric) or [])
                due = time.monotonic() - last_write >= self.ctx.settings.status_interval
                if steps != written and due:
                    written, last_write = steps, time.monotonic()
                    if self._progress(engine, study, trial, pod, container, output):
                        return False
                if follower.finished:
                    break
                if time.monotonic() - last_check >= STUDY_CHECK:
                    last_check = time.monotonic()
                    # The stream may hang (a lost node, a proxy): judge the pod by itself.
                    now = self.kube.get_pod(self.namespace, pod["metadata"]["name"])
                    if now is None or now["metadata"].get("uid") != pod["metadata"].get("uid"):
                        break
                    if attempts.phase(now) == "ended":
                        break
                    study_obj = self.kube.get_object("studies", self.namespace, study.metadata.name)
                    if (study_obj or {}).get("status", {}).get("state") in TERMINAL:
                        return True
        finally:
            follower.close()
        if time.monotonic() - started < 0.5:
            self.sleep(LOG_POLL)  # the stream ended at once: let the pod's status catch up
        return True

    def _progress(
        self,
        engine: Engine,
        study: Study,
        trial: Trial,
        pod: Obj,
        container: str,
        output: TrialOutput,
    ) -> bool:
        """Write the intermediate values; True if the trial was pruned."""
        status = trial.status.model_copy(deep=True)
        _intermediate(status, study, output)
        trial.status = status
        if study.spec.early_stopping.algorithm != "none":
            records = records_of(self.kube.list_trials(self.namespace, study.metadata.name))
            records = [trial if r.number == trial.number else r for r in records]
            decision = engine.should_prune(records, trial.number)
            status.pruning_state = dict(decision.pruning_state)
            if decision.prune:
                last = status.intermediate[-1] if status.intermediate else None
                where = ""
                if last is not None:
                    where = f" at step {last.step} ({study.spec.pruning_metric}={last.value:.4g})"
                status.state, status.reason = "Pruned", "Pruned"
                status.message = f"{study.spec.early_stopping.algorithm} stopped it{where}"
                status.metrics = dict(output.final)
                spent = self._price(study, pod, container, output.final)
                if spent is not None:
                    status.economics = add_attempt(status.economics, spent)
                self._end(study, trial, status)
                self.kube.delete_pod(self.namespace, pod["metadata"]["name"], grace_seconds=0)
                return True
        self._write(status)
        return False

    def _finish(
        self,
        engine: Engine,
        study: Study,
        trial: Trial,
        uid: str,
        pod: Obj | None,
        container: str,
        stuck: attempts.Stuck | None = None,
    ) -> bool:
        """Record how the attempt ended (or could not start), or start the next attempt."""
        output: TrialOutput | None = None
        spent = None
        economics = trial.status.economics
        if pod is not None and stuck is None:
            text = self.kube.read_log(self.namespace, pod["metadata"]["name"], container)
            message = str(attempts.terminated_state(pod, container).get("message") or "")
            output = attempts.read_metrics(study, text, message)
            spent = self._price(study, pod, container, output.final)
        if spent is not None:
            # The trial's economics cover every attempt; its objectives only this one.
            economics = add_attempt(trial.status.economics, spent)
        if stuck is not None:
            ending = attempts.Ending("Failed", stuck.reason, stuck.message, economics=economics)
        else:
            ending = attempts.judge(engine, study, pod, container, output, spent, economics)
        attempt = trial.status.attempts
        if ending.state == "Failed" and engine.retry(trial):
            note = f"attempt {attempt} failed ({ending.reason}: {ending.message}); retrying"
            if trial.status.reason != "QuotaExceeded":  # said once, not at every quota retry
                log.info("Trial %s/%s: %s", self.namespace, self.name, note)
                ref = object_ref(trial, self.namespace)
                self.kube.event(ref, "Warning", "TrialRetrying", note)
            going = self._start_attempt(study, trial, uid, attempt + 1, note, spent)
            if stuck is not None and pod is not None:
                self.kube.delete_pod(self.namespace, pod["metadata"]["name"], grace_seconds=0)
            return going
        status = trial.status.model_copy(deep=True)
        status.state, status.reason, status.message = ending.state, ending.reason, ending.message
        status.metrics = ending.metrics
        status.values, status.feasible = ending.values, ending.feasible
        status.violations, status.economics = ending.violations, ending.economics
        if output is not None:
            _intermediate(status, study, output)
        crash_point(self.ctx.settings, "before-trial-finish")
        self._end(study, trial, status)
        if stuck is not None and pod is not None:  # it would wait (bound to nothing) forever
            self.kube.delete_pod(self.namespace, pod["metadata"]["name"], grace_seconds=0)
        return False

    def _stop_for_study(self, study: Study, study_obj: Obj, trial: Trial) -> None:
        """The study is over: end this trial as its stop rule says and stop its pod."""
        status = trial.status.model_copy(deep=True)
        status.state, status.reason, status.message = cancelled_outcome(
            attempts.study_stop(study_obj, study.metadata.name)
        )
        pod = None
        if status.attempts:
            pod = self.kube.get_pod(self.namespace, pod_name(self.name, status.attempts))
        spent = self._price(study, pod, primary_container(study)) if pod is not None else None
        if spent is not None:
            status.economics = add_attempt(status.economics, spent)
        self._end(study, trial, status)
        if pod is not None:
            self.kube.delete_pod(self.namespace, pod["metadata"]["name"], grace_seconds=0)

    # -- writing -----------------------------------------------------------------------
    def _end(self, study: Study, trial: Trial, status: TrialStatus) -> None:
        now = now_utc()
        status.completion_time = now
        status.summary = values_summary(study.spec.objective_names, status.values)
        status.conditions = set_condition(
            status.conditions,
            status.state,
            "True",
            status.reason or status.state,
            status.message or "",
            generation=None,
            now=now,
        )
        self._write(status)
        crash_point(self.ctx.settings, "after-trial-finish")
        if status.state == "Pruned":
            crash_point(self.ctx.settings, "after-trial-pruned")
        trial.status = status
        log.info("Trial %s/%s %s %s", self.namespace, self.name, status.state, status.reason or "")
        self.ctx.observer.trial_finished(self.namespace, study.metadata.name, trial)
        for ref, event in trial_outcome_events(study, trial, self.namespace):
            self.kube.event(ref, event.type, event.reason, event.message)
        reconcile_study(self.ctx, self.namespace, study.metadata.name)

    def _waiting(self, trial: Trial, reason: str, message: str) -> None:
        """Say why the trial is still Pending (shown by `kubectl describe trial`)."""
        status = trial.status.model_copy(deep=True)
        status.state, status.reason, status.message = "Pending", reason, message
        self._write(status)
        trial.status = status
        log.info("Trial %s/%s waits: %s", self.namespace, self.name, message)

    def _write(self, status: TrialStatus) -> None:
        if self.stopped():
            raise Stopped
        self.kube.replace_status("trials", self.namespace, self.name, status.wire())

    def _price(
        self, study: Study, pod: Obj, container: str, reported: dict[str, float] | None = None
    ) -> TrialEconomics | None:
        node_name = (pod.get("spec") or {}).get("nodeName")
        node = None
        if node_name:
            if node_name not in self._nodes:
                self._nodes[node_name] = self.kube.get_node(node_name)
            node = self._nodes[node_name]
        base = self.ctx.settings.economics
        return attempts.price(study, pod, node, base, container, now_utc(), reported)


def _intermediate(status: TrialStatus, study: Study, output: TrialOutput) -> None:
    series = output.intermediate.get(study.spec.pruning_metric) or []
    status.intermediate = [StepValue(step=s, value=v) for s, v in series[-INTERMEDIATE_CAP:]]
    status.last_intermediate = {k: v[-1][1] for k, v in output.intermediate.items() if v}


def _api_message(error: ApiException) -> str:
    try:
        return str(json.loads(error.body or "{}").get("message") or error.reason)[:300]
    except ValueError:
        return str(error.reason)

"""Reconciling one Study against the API: read what is, plan, write what changed."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from tradeoff.api.trial import FINISHED_STATES, Trial
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.kube.attempts import parse_time, phase
from tradeoff.kube.client import now_utc
from tradeoff.kube.context import Context, warn_foreign
from tradeoff.kube.history import history_reader
from tradeoff.kube.leftovers import attempt_position, attempt_positions, clean_workloads
from tradeoff.kube.ownership import controller_of, owned_by
from tradeoff.kube.pods import ATTEMPT_LABEL
from tradeoff.kube.reconcile import StudyPlan, plan_study
from tradeoff.kube.settings import crash_point
from tradeoff.kube.warmstart import reader

log = logging.getLogger("tradeoff.operator")
MAX_REST = 1.0
"""Seconds a pass that follows another at once rests at most (`reconcile_study`)."""
EVENT_GRACE = 30.0
"""Seconds a Trial may go without a driver before a pass makes one (its watch event,
lost in a watch's restart, say, never came)."""


def reconcile_study(ctx: Context, namespace: str, name: str) -> None:
    """Reconcile a Study now, or have the pass already under way run once more.

    Requests coalesce: when fifty trials end together, the study is reconciled a few
    times, not fifty. Each pass reads everything afresh, so one pass serves every request
    made before it started; a request made during a pass gets one more pass.

    A pass that raises leaves the Study wanted, so no request is lost: the study timer
    (`Context.due`) or the failed handler's retry passes again within seconds.
    """
    key = (namespace, name)
    lock = ctx.lock(namespace, name)
    ctx.want(key)
    while ctx.wanted(key):
        if not lock.acquire(blocking=False):
            return  # the holder passes again before it lets go
        try:
            took = 0.0
            while ctx.take(key):
                # Back to back passes (trials end all the time) rest as long as the last
                # one computed (its CPU time: waiting on the API is not work): passes use
                # at most half a core, and each serves more requests.
                time.sleep(min(took, MAX_REST))
                ctx.passing(key)
                started = time.thread_time()
                try:
                    _reconcile_once(ctx, namespace, name)
                except BaseException:
                    ctx.want(key)  # served by the next pass, whoever starts it
                    raise
                took = time.thread_time() - started
        finally:
            lock.release()


def _reconcile_once(ctx: Context, namespace: str, name: str) -> StudyPlan | None:
    """One level-based pass over a Study; None if the Study is gone."""
    key = (namespace, name)
    obj = ctx.kube.get_object("studies", namespace, name)
    if obj is None or (obj.get("metadata") or {}).get("deletionTimestamp"):
        return None
    study_uid = str(obj["metadata"].get("uid", ""))
    objectives = (obj.get("spec") or {}).get("objectives")
    width = len(objectives) if isinstance(objectives, list) and objectives else None
    own, others = ctx.owned_trials(namespace, name, study_uid, width)
    taken = ctx.taken((namespace, name))
    for held in list(taken):  # a name a Trial of someone else's held: is it free now?
        found = ctx.kube.get_object("trials", namespace, held)
        if found is None or owned_by(found, study_uid):
            taken.discard(held)
    plan = plan_study(
        obj,
        [],
        now_utc(),
        ctx.settings.trial_policy,
        ctx.engines,
        taken,
        owned=(own, others),
        read_sources=reader(ctx.kube),
        read_history=history_reader(ctx.kube),
        insight_source=None if ctx.insight_jobs is None else ctx.insight_jobs.source(key),
    )
    if plan.ask_seconds and plan.algorithm is not None:
        ctx.observer.suggest_latency(plan.algorithm, plan.ask_seconds)
    for foreign in plan.foreign:
        warn_foreign(ctx, obj, foreign)
    # Status first: a trial driver that sees its study still Succeeded or Failed would
    # stop a trial created because an edit (say, a larger maxTrials) reopened the study.
    if plan.status_changed:
        ctx.kube.replace_status("studies", namespace, name, plan.status.wire())
    for record in plan.resumed:  # cancelled trials have no driver: this starts theirs
        ctx.store.trial(
            ctx.kube.replace_status("trials", namespace, record.metadata.name, record.status.wire())
        )
    for body in plan.new_trials:
        trial = body["metadata"]["name"]
        created = ctx.kube.create_trial(namespace, body)
        if created:
            ctx.store.trial(created)
            log.info("Created trial %s of study %s/%s", trial, namespace, name)
            crash_point(ctx.settings, "after-trial-create")
            continue
        holder = ctx.kube.get_object("trials", namespace, trial)
        if holder is not None and not owned_by(holder, study_uid):
            # Never adopted: the next pass reports the Study as blocked on this name.
            log.warning(
                "Trial name %s/%s is held by a Trial study %s does not control",
                namespace,
                trial,
                name,
            )
            taken.add(trial)
            ctx.want((namespace, name))
            break
    for event in plan.events:
        ctx.kube.event(obj, event.type, event.reason, event.message)
    if plan.study is not None and plan.summary is not None:
        # What the summary does not say is in the unfinished trials (say, carbon-deferred
        # ones): the observer is given those, not a loop's worth of every trial per pass.
        unfinished = ctx.open_trials(key) if ctx.watching else plan.records
        ctx.observer.study_updated(
            namespace, name, plan.study.spec, plan.status.state, unfinished, plan.summary
        )
        ctx.observer.insights_updated(namespace, name, plan.status.insights)
    _clean_pods(ctx, namespace, name, plan.records if plan.study is not None else own, plan.resumed)
    if plan.study is not None:
        resources = ctx.settings.workload_resources
        clean_workloads(ctx.kube, resources, ctx.sweeps, namespace, plan.study, plan.records)
    if ctx.drive is not None:
        open_trials = ctx.open_trials(key) if ctx.watching else own
        ctx.drive(namespace, name, _undriven_candidates(open_trials))
    return plan


def _undriven_candidates(records: list[Trial]) -> list[str]:
    """Unfinished Trials older than `EVENT_GRACE`: each should have a driver by now (its
    watch event made one); `TrialDrivers.ensure` makes one for any a lost event left."""
    oldest = now_utc() - timedelta(seconds=EVENT_GRACE)
    out = []
    for t in records:
        if t.state in FINISHED_STATES or waits_for_resume(t.state, t.status.reason):
            continue
        created = (t.metadata.model_extra or {}).get("creationTimestamp")
        when = parse_time(str(created)) if created else None
        if when is not None and when < oldest:
            out.append(t.metadata.name)
    return out


def _clean_pods(
    ctx: Context, namespace: str, study: str, trials: list[Trial], resumed: list[Trial]
) -> None:
    """Delete pods still running for finished trials or superseded attempts.

    A crash between recording a trial's end (or its cancellation) and deleting its pod
    (pruning, a stopped study) would otherwise leave the pod running. Only pods that the
    Study's own Trials control are touched, whatever their labels say. (The pods of a
    workload are its own: `leftovers.clean_workloads` deletes a leftover workload.)
    `trials` are the pass's records, `resumed` the ones among them it resumed.
    """
    active = _active_pods(ctx, namespace, study)
    if not active:
        return
    if ctx.watching:  # the records of the pods' owners only, not a loop over every trial
        current = _owners_positions(ctx, (namespace, study), active, resumed)
    else:
        current = attempt_positions(trials)
    for name, owner, attempt in active:
        if owner not in current or attempt is None:
            continue
        done, attempts = current[owner]
        if not (done or attempt < attempts):
            continue
        if ctx.watching:  # the watch may lag: the pod may have ended since
            pod = ctx.kube.get_pod(namespace, name)
            if pod is None or phase(pod) == "ended" or pod["metadata"].get("deletionTimestamp"):
                continue
        log.info("Deleting leftover pod %s/%s", namespace, name)
        ctx.kube.delete_pod(namespace, name)


def _owners_positions(
    ctx: Context,
    key: tuple[str, str],
    active: list[tuple[str, str, int | None]],
    resumed: list[Trial],
) -> dict[str, tuple[bool, int]]:
    """`attempt_positions` of the pass's records, for the owners of `active` pods only:
    the Study's records as the pass read them (or as a pruning driver read them since:
    never older), but the trials the pass resumed as it resumed them."""
    changed = {str((r.metadata.model_extra or {}).get("uid")): r for r in resumed}
    out: dict[str, tuple[bool, int]] = {}
    for owner in {owner for _, owner, _ in active}:
        record = changed.get(owner) or ctx.owned_record(key, owner)
        if record is not None:
            out[owner] = attempt_position(record)
    return out


def _active_pods(ctx: Context, namespace: str, study: str) -> list[tuple[str, str, int | None]]:
    """(name, controller uid, attempt) of the Study's pods neither ended nor deleted."""
    if ctx.watching:
        return [(p.name, p.owner_uid, p.attempt) for p in ctx.store.active_pods((namespace, study))]
    out: list[tuple[str, str, int | None]] = []
    for pod in ctx.kube.list_pods(namespace, study):
        if phase(pod) == "ended" or (pod["metadata"].get("deletionTimestamp")):
            continue
        try:
            attempt: int | None = int((pod["metadata"].get("labels") or {}).get(ATTEMPT_LABEL, "0"))
        except ValueError:
            attempt = None
        out.append((pod["metadata"]["name"], str((controller_of(pod) or {}).get("uid")), attempt))
    return out

"""Reconciling one Study against the API: read what is, plan, write what changed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from tradeoff.api.trial import FINISHED_STATES, Trial
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.engine.signing import new_key
from tradeoff.kube.attempts import parse_time, phase
from tradeoff.kube.cache import Store
from tradeoff.kube.checked import CheckedStudies
from tradeoff.kube.client import Kube, Obj, now_utc
from tradeoff.kube.engines import Engines
from tradeoff.kube.history import history_reader
from tradeoff.kube.insight_jobs import InsightJobs
from tradeoff.kube.leftovers import (
    WorkloadSweeps,
    attempt_position,
    attempt_positions,
    clean_workloads,
)
from tradeoff.kube.owned import OwnedTrials
from tradeoff.kube.ownership import controller_of, foreign_message, owned_by, split_owned
from tradeoff.kube.pods import ATTEMPT_LABEL
from tradeoff.kube.podwatch import PodWatch
from tradeoff.kube.reconcile import StudyPlan, plan_study, records_of
from tradeoff.kube.settings import Settings, crash_point
from tradeoff.kube.warmstart import reader
from tradeoff.observe import NullObserver, StudyObserver

log = logging.getLogger("tradeoff.operator")
MAX_REST = 1.0
"""Seconds a pass that follows another at once rests at most (`reconcile_study`)."""
LISTING_WAIT = 60.0
"""Seconds a pass waits for the informers' first listings (`Store.wait_listed`)."""
EVENT_GRACE = 30.0
"""Seconds a Trial may go without a driver before a pass makes one (its watch event,
lost in a watch's restart, say, never came)."""
NODE_TTL = 300.0
"""Seconds a Node read to price trials is used before it is read again."""


@dataclass
class Context:
    """What every handler shares: the API, the settings, the observer, per-study locks."""

    kube: Kube
    settings: Settings
    observer: StudyObserver = field(default_factory=NullObserver)
    engines: Engines = field(default_factory=lambda: Engines(new_key()))
    """Kept engines; `run_operator` gives them the key from the cluster's Secret."""
    sweeps: WorkloadSweeps = field(default_factory=WorkloadSweeps)
    """When each Study's workloads were last looked at for leftovers."""
    store: Store = field(default_factory=Store)
    """Trials, running pods and Studies as kopf's watches report them."""
    watching: bool = False
    """Whether kopf feeds `store` and `pods` (else everything is read from the API)."""
    pods: PodWatch = field(default_factory=PodWatch)
    """The pods trial drivers wait on, fed by the pods watch."""
    checked: CheckedStudies = field(default_factory=CheckedStudies)
    """Each Study's spec checked once per generation, for the trial drivers."""
    drive: Callable[[str, str, list[str]], object] | None = None
    """Where kopf runs: makes sure the named unfinished Trials of a Study have a
    driver (`TrialDrivers.ensure`; a pass calls it for Trials a lost event left alone)."""
    insight_jobs: InsightJobs | None = None
    """Where kopf runs, insights are computed in child processes (else in the pass)."""
    _nodes: dict[str, tuple[float, Obj | None]] = field(default_factory=dict)
    _locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _wanted: set[tuple[str, str]] = field(default_factory=set)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _warned: set[tuple[str, str, str]] = field(default_factory=set)
    _taken: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _passed: dict[tuple[str, str], float] = field(default_factory=dict)
    _reads: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _owned: dict[tuple[str, str], OwnedTrials] = field(default_factory=dict)

    def lock(self, namespace: str, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault((namespace, name), threading.Lock())

    def want(self, key: tuple[str, str]) -> None:
        with self._guard:
            self._wanted.add(key)

    def take(self, key: tuple[str, str]) -> bool:
        """Whether a pass over `key` was asked for since the last one (and clear it)."""
        with self._guard:
            wanted = key in self._wanted
            self._wanted.discard(key)
            return wanted

    def wanted(self, key: tuple[str, str]) -> bool:
        with self._guard:
            return key in self._wanted

    def passing(self, key: tuple[str, str]) -> None:
        """Note that a pass over `key` starts now."""
        with self._guard:
            self._passed[key] = time.monotonic()

    def due(self, key: tuple[str, str], interval: float) -> bool:
        """Whether `key` needs a pass: one was asked for and not yet served (say, the pass
        that was to serve it raised), or none started in the last `interval` seconds."""
        with self._guard:
            last = self._passed.get(key)
            return key in self._wanted or last is None or time.monotonic() - last >= interval

    def forget(self, key: tuple[str, str]) -> None:
        """Drop what is kept about a Study that is gone (its lock stays: a pass may run)."""
        with self._guard:
            self._taken.pop(key, None)
            self._passed.pop(key, None)
            self._wanted.discard(key)
            self._owned.pop(key, None)
        self.sweeps.forget(key)

    def first_warning(self, study_uid: str, trial_uid: str, reason: str) -> bool:
        """Whether this warning about a trial is new (Events are advisory: said once per
        operator process, not at every pass)."""
        with self._guard:
            key = (study_uid, trial_uid, reason)
            if key in self._warned:
                return False
            self._warned.add(key)
            return True

    def node(self, name: str) -> Obj | None:
        """A Node, read at most once every `NODE_TTL` seconds (its labels price trials)."""
        with self._reading(("node", name)):  # drivers asking at once: one read
            with self._guard:
                kept = self._nodes.get(name)
            if kept is not None and time.monotonic() - kept[0] < NODE_TTL:
                return kept[1]
            node = self.kube.get_node(name)
            with self._guard:
                self._nodes[name] = (time.monotonic(), node)
            return node

    def _reading(self, what: tuple[str, str]) -> threading.Lock:
        """The lock that makes one thread read `what` while the others wait for it."""
        with self._guard:
            return self._reads.setdefault(what, threading.Lock())

    def owned_trials(self, namespace: str, study: str, uid: str) -> tuple[list[Trial], list[Obj]]:
        """(the Study's own Trial records by number, the Trials labelled for it that it
        does not control): from the informers' store when they run, else listed and parsed."""
        if not self.watching:
            own, foreign = split_owned(self.kube.list_trials(namespace, study), uid)
            return records_of(own), foreign
        key = (namespace, study)
        if not self.store.wait_listed(namespace, LISTING_WAIT):  # the pass is retried
            raise TimeoutError(f"the Trials and pods of namespace {namespace} are not listed yet")
        with self._reading(key):  # a pass and a pruning driver at once: one follow
            owned = self._owned_index(key)
            owned.follow(self.store.trials(key), uid)  # only what changed since the last
            return list(owned.records), owned.foreign

    def _owned_index(self, key: tuple[str, str]) -> OwnedTrials:
        with self._guard:
            return self._owned.setdefault(key, OwnedTrials())

    def open_trials(self, key: tuple[str, str]) -> list[Trial]:
        """The Study's trials that may still run, as its last `owned_trials` read found."""
        with self._reading(key):
            return self._owned_index(key).open_records()

    def owned_record(self, key: tuple[str, str], trial_uid: str) -> Trial | None:
        """The record of the Study's own Trial `trial_uid`, as its last read found it."""
        with self._reading(key):
            return self._owned_index(key).record(trial_uid)

    def taken(self, key: tuple[str, str]) -> set[str]:
        """Trial names of a Study that a create found held by a Trial it does not control."""
        with self._guard:
            return self._taken.setdefault(key, set())


def warn_foreign(ctx: Context, study_obj: Obj, trial_obj: Obj) -> None:
    """A Warning Event on the Study about a Trial it does not control (once per trial)."""
    study_meta, meta = study_obj.get("metadata") or {}, trial_obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    trial_uid = str(meta.get("uid") or name)
    if ctx.first_warning(str(study_meta.get("uid", "")), trial_uid, "ForeignTrial"):
        message = foreign_message(name, str(study_meta.get("name", "")))
        log.warning("%s/%s: %s", study_meta.get("namespace"), study_meta.get("name"), message)
        ctx.kube.event(study_obj, "Warning", "ForeignTrial", message)


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
    own, others = ctx.owned_trials(namespace, name, study_uid)
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

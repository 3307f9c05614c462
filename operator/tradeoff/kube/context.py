"""What the operator's handlers share (`Context`): the API, settings, kept engines, the
informers' store, and per-Study locks and bookkeeping, read-once caches included."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tradeoff.api.trial import Trial
from tradeoff.engine.signing import new_key
from tradeoff.kube.cache import Store, study_records
from tradeoff.kube.checked import CheckedStudies
from tradeoff.kube.client import Kube, Obj
from tradeoff.kube.engines import Engines
from tradeoff.kube.insight_jobs import InsightJobs
from tradeoff.kube.leftovers import WorkloadSweeps
from tradeoff.kube.owned import OwnedTrials
from tradeoff.kube.ownership import foreign_message, split_owned
from tradeoff.kube.podwatch import PodWatch
from tradeoff.kube.reconcile import records_of
from tradeoff.kube.settings import Settings
from tradeoff.observe import NullObserver, StudyObserver

__all__ = ["LISTING_WAIT", "NODE_TTL", "Context", "warn_foreign"]

log = logging.getLogger("tradeoff.operator")
LISTING_WAIT = 60.0
"""Seconds a pass waits for the informers' first listings (`Store.wait_listed`)."""
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

    def owned_trials(
        self, namespace: str, study: str, uid: str, objectives: int | None
    ) -> tuple[list[Trial], list[Obj]]:
        """(the Study's own Trial records by number, the Trials labelled for it that it
        does not control): from the informers' store when they run, else listed and parsed.
        Records that are no record of a study of `objectives` objectives are left out
        (`study_records`; all kept when None: the Study's objectives do not parse)."""
        if not self.watching:
            own, foreign = split_owned(self.kube.list_trials(namespace, study), uid)
            records = records_of(own)
            return (records if objectives is None else study_records(records, objectives)), foreign
        key = (namespace, study)
        if not self.store.wait_listed(namespace, LISTING_WAIT):  # the pass is retried
            raise TimeoutError(f"the Trials and pods of namespace {namespace} are not listed yet")
        with self._reading(key):  # a pass and a pruning driver at once: one follow
            owned = self._owned_index(key)
            owned.follow(self.store.trials(key), uid)  # only what changed since the last
            records = list(owned.records) if objectives is None else owned.admitted(objectives)
            return records, owned.foreign

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

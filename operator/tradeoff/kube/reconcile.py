"""Study reconciliation as a pure function of what is: the Study object and its Trials.

`plan_study` answers, from the objects alone, which Trials to create, what the Study's
status should read, and which Events tell users what changed. The caller does the I/O.
The spec check (`checked`), the status (`status`) and the Events (`events`) are built in
modules of their own; this one puts them together.
Because nothing here depends on the event that triggered it, a restarted operator takes
exactly the decisions a running one would.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from tradeoff.api.errors import ManifestError
from tradeoff.api.policy import TrialPolicy
from tradeoff.api.status import AlgorithmChoice, StudyStatus
from tradeoff.api.study import Study
from tradeoff.api.trial import Trial, trial_name
from tradeoff.engine import Engine, SharedRecords, lifecycle
from tradeoff.engine.insight_status import InsightSource, refresh_insights
from tradeoff.engine.priors import Source, match
from tradeoff.engine.progress import StopDecision, Summary
from tradeoff.engine.validation import choose_algorithm
from tradeoff.kube.cache import checked_record, study_records
from tradeoff.kube.checked import checked_study
from tradeoff.kube.engines import Engines
from tradeoff.kube.events import Event, study_events
from tradeoff.kube.history import HistoryReader
from tradeoff.kube.ownership import split_owned
from tradeoff.kube.pods import MANAGED_BY, owner_reference
from tradeoff.kube.status import (
    blocked_status,
    get_condition,
    invalid_status,
    problems_message,
    set_condition,
    study_status,
    waiting_status,
)
from tradeoff.kube.warmstart import SourceReader, WarmStartProblem, WarmStartWaiting

Obj = dict[str, Any]


@dataclass
class StudyPlan:
    """What to do for one Study now."""

    status: StudyStatus
    status_changed: bool
    new_trials: list[Obj] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    study: Study | None = None
    records: list[Trial] = field(default_factory=list)
    summary: Summary | None = None
    stop: StopDecision | None = None
    ask_seconds: float = 0.0
    foreign: list[Obj] = field(default_factory=list)
    """Trials labelled for the Study that it does not control: ignored."""
    algorithm: str | None = None
    """The algorithm the study runs (resolved once, recorded in its status)."""
    resumed: list[Trial] = field(default_factory=list)
    """Cancelled trials that run again now that the study runs (their new status)."""


def previous_status(obj: Obj) -> StudyStatus:
    """The Study's current status, or a fresh one if it is missing or unreadable."""
    try:
        return StudyStatus.model_validate(obj.get("status") or {})
    except ValidationError:
        return StudyStatus()


def records_of(trial_objects: Sequence[Obj]) -> list[Trial]:
    """Trial records from Trial objects; objects that are no record (`checked_record`)
    are skipped."""
    out: list[Trial] = []
    for obj in trial_objects:
        record, _ = checked_record(obj)
        if record is not None:
            out.append(record)
    return sorted(out, key=lambda r: r.number)


def trial_manifest(study: Study, uid: str, record: Trial) -> Obj:
    """A new Trial object, owned by its Study."""
    body: Obj = dict(record.wire())
    body.pop("status", None)
    meta = body["metadata"]
    meta["labels"] = {**MANAGED_BY, **(meta.get("labels") or {})}
    meta["ownerReferences"] = [owner_reference("Study", study.metadata.name, uid)]
    return body


def _changed(old: StudyStatus, new: StudyStatus) -> bool:
    return old.wire() != new.wire()


def final_stop(old: StudyStatus, generation: int | None) -> StopDecision | None:
    """The stop decision the Study recorded for this spec generation, if it ended.

    The first decision is final (as in local mode). An edit of the spec (a new generation)
    decides afresh, so a larger `maxTrials` or a longer `timeout` reopens the study, and
    the trials its stop cancelled run again.
    """
    if old.state not in ("Succeeded", "Failed"):
        return None
    for c in old.conditions:
        if c.type == old.state and c.status == "True" and c.observed_generation == generation:
            return StopDecision(old.state, c.reason, c.message, cancel_running=True)
    return None


@contextmanager
def study_engine(
    engines: Engines | None,
    obj: Obj,
    study: Study,
    algorithm: str,
    sources: Callable[[], list[Source]] | None = None,
) -> Iterator[Engine]:
    """The Study's kept engine, or (without `engines`) a fresh one with a key of its own."""
    if engines is None:
        found = sources() if sources else []
        yield Engine(
            study.spec, algorithm, study=study.metadata.name, priors=match(study.spec, found)
        )
        return
    meta = obj.get("metadata") or {}
    namespace, uid = str(meta.get("namespace") or ""), str(meta.get("uid") or "")
    with engines.use(namespace, study, uid, algorithm, sources) as engine:
        yield engine


def plan_study(
    obj: Obj,
    trial_objects: Sequence[Obj],
    now: datetime,
    policy: TrialPolicy | None = None,
    engines: Engines | None = None,
    taken: Collection[str] = (),
    owned: tuple[Sequence[Trial], Sequence[Obj]] | None = None,
    read_sources: SourceReader | None = None,
    read_history: HistoryReader | None = None,
    insight_source: InsightSource | None = None,
) -> StudyPlan:
    """The plan for one Study object and the Trial objects labelled with its name.

    A Study whose spec is invalid, or whose trial template asks for more than the trial
    `policy` allows (default: restricted, service account `default`), gets `Valid=False`
    with one line per problem, and no trials. Only Trials the Study controls count
    (`ownership`); the others are returned in `foreign`. `taken` names Trials known to
    exist without belonging to the Study (a create answered 409 for them): when the next
    trial's deterministic name is taken, the Study creates nothing more and says so
    (condition `Blocked`) until it is free. `owned` gives the Study's own records and the
    foreign Trial objects already split and parsed (from the operator's index) instead.
    Records are never changed in place: they may be shared with a cache. `read_sources`
    reads the Studies that `spec.warmStart.fromStudies` names (none read without it);
    `read_history` the ended Studies of the same space, when `auto` is first resolved;
    `insight_source` computes the insights when due (default: here, at once).
    """
    old = previous_status(obj)
    meta = obj.get("metadata") or {}
    generation = meta.get("generation")
    uid = str(meta.get("uid") or "")
    if owned is None:
        own_objects, foreign = split_owned(trial_objects, uid)
        own_records = records_of(own_objects)
    else:
        own_records, foreign = list(owned[0]), list(owned[1])
    try:
        study = checked_study(obj, policy or TrialPolicy(), old.algorithm)
    except ManifestError as error:
        message = problems_message(error.problems)
        status = invalid_status(old, message, generation=generation, now=now)
        events = [] if old.state == "Failed" else [Event("Warning", "InvalidSpec", message)]
        return StudyPlan(status, _changed(old, status), events=events, foreign=foreign)
    if owned is None:  # `owned` holds records the Study's objectives admit already
        own_records = study_records(own_records, len(study.spec.objectives))
    # Records from the operator's store are never changed in place and stay the same
    # objects until their Trial changes: the engine finds what changed by identity. Records
    # parsed here are new objects each pass: it compares their fingerprints.
    records = SharedRecords(own_records) if owned is not None else list(own_records)
    namespace = str(meta.get("namespace") or "")
    history = None if read_history is None else (lambda: read_history(namespace, study))
    algorithm = choose_algorithm(study.spec, old.algorithm, now, history)
    sources = None if read_sources is None else (lambda: read_sources(namespace, study))
    try:
        return _plan_valid(
            obj, study, records, foreign, old, algorithm, now, engines, taken, sources,
            insight_source,
        )  # fmt: skip
    except WarmStartProblem as error:
        status = invalid_status(old, str(error), generation=generation, now=now)
        events = [] if old.state == "Failed" else [Event("Warning", "InvalidSpec", str(error))]
        return StudyPlan(status, _changed(old, status), events=events, foreign=foreign)
    except WarmStartWaiting as waiting:
        status = waiting_status(old, str(waiting), generation=generation, now=now)
        events = (
            []
            if old.message == status.message
            else [Event("Normal", "WaitingForWarmStart", str(waiting))]
        )
        return StudyPlan(status, _changed(old, status), events=events, foreign=foreign)


def _plan_valid(
    obj: Obj,
    study: Study,
    records: list[Trial],
    foreign: list[Obj],
    old: StudyStatus,
    algorithm: AlgorithmChoice,
    now: datetime,
    engines: Engines | None,
    taken: Collection[str],
    sources: Callable[[], list[Source]] | None,
    insight_source: InsightSource | None = None,
) -> StudyPlan:
    meta = obj.get("metadata") or {}
    generation = meta.get("generation")
    uid = str(meta.get("uid") or "")
    blocked: str | None = None
    with study_engine(engines, obj, study, algorithm.name, sources) as engine:
        start = old.start_time or now
        elapsed = (now - start).total_seconds()
        stop = final_stop(old, generation) or engine.stop_decision(records, elapsed)
        plan = StudyPlan(
            old,
            False,
            study=study,
            records=records,
            stop=stop,
            foreign=foreign,
            algorithm=algorithm.name,
        )
        if stop is None:
            waiting = {id(r) for r in engine.waiting_to_resume(records)}
            for i, record in enumerate(records if waiting else ()):
                if id(record) in waiting:
                    resumed = record.model_copy(update={"status": lifecycle.resume(record.status)})
                    records[i] = resumed
                    plan.resumed.append(resumed)
            count = engine.trials_to_start(records)
            suggestions = engine.ask(records, count)
            plan.ask_seconds = engine.last_ask_seconds if count else 0.0
            namespace = meta.get("namespace")
            unavailable = set(taken) | {str(t["metadata"].get("name")) for t in foreign}
            for s in suggestions:
                if trial_name(study.metadata.name, s.number) in unavailable:
                    blocked = trial_name(study.metadata.name, s.number)
                    break  # numbers are sequential: nothing after it either
                record = Trial.new(
                    study.metadata.name, s.number, s.parameters, s.sampler_state, namespace
                )
                plan.new_trials.append(trial_manifest(study, uid, record))
                record.status.state = "Pending"
                records.append(record)
        made = engine.ensemble_due(records, stop, meta.get("namespace"))
        if made is not None and made.metadata.name not in taken:
            plan.new_trials.append(trial_manifest(study, uid, made))
            records.append(made)
        summary = engine.summarize(records)
        warnings = [Event("Warning", "UntrustedRecord", w) for w in engine.warnings]
        engine.warnings.clear()
        status = study_status(
            old,
            summary,
            stop,
            max_trials=study.spec.budget.max_trials,
            generation=generation,
            now=now,
        )
        warm_line = engine.priors_line(records)
    status.algorithm = algorithm
    status.warm_start = warm_line or None
    waited = get_condition(status.conditions, "WarmStartReady")
    if waited is not None and waited.status == "False":
        status.conditions = set_condition(
            status.conditions,
            "WarmStartReady",
            "True",
            "SourcesRead",
            status.warm_start or "the Studies to start from have ended",
            generation=generation,
            now=now,
        )
    status = blocked_status(status, blocked, generation=generation, now=now)
    ended = stop is not None
    found = refresh_insights(old, status, study.spec, records, ended, insight_source)
    plan.status, plan.status_changed, plan.summary = status, _changed(old, status), summary
    plan.events = study_events(old, status, stop) + warnings
    plan.events += [Event("Normal", "Insight", i.message) for i in found]
    return plan

"""What the operator knows of Trials, Pods and Studies from the watches.

The Trials and pods informers (`informer`, `feeds`) keep, per Study, each Trial parsed
once per resourceVersion and the pods still running, so a Study's pass reads them from
memory instead of listing and parsing them; a pass waits until the informers' first
listings are complete (`wait_listed`), so no pass ever sees part of them. Events and
the operator's own writes are merged by resourceVersion, the newer wins; a deleted
Trial never comes back. Equal parts of the records are kept once (`shared_parts`).
What the operator writes itself (a created Trial, a status it patched) goes in from the
API's answer at once, so a pass right after a trial ended sees it ended although the
watch lags the write. Studies come from kopf's events.

(kopf's own `@kopf.index` would do the same, but it holds back every handler until each
indexed object is indexed, waking every waiting object's worker at each one: at 10,000
Trials and their pods a restarted operator took minutes to start.)
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from tradeoff.api.errors import format_validation_error
from tradeoff.api.trial import STUDY_LABEL, Trial, study_problem, values_problem
from tradeoff.kube.attempts import phase
from tradeoff.kube.ownership import controller_of, owned_by
from tradeoff.kube.pods import ATTEMPT_LABEL
from tradeoff.kube.shared_parts import share_parts, shared_owners, shared_strings

log = logging.getLogger("tradeoff.operator")

Obj = dict[str, Any]
Key = tuple[str, str]
LISTED = ("trials", "pods")
"""What the informers list before a pass may read the store."""
KEPT_META = ("name", "namespace", "uid", "labels", "resourceVersion", "creationTimestamp")


@dataclass(eq=False)
class TrialEntry:
    """One Trial as a pass needs it: who controls it and its parsed record (if it parses)."""

    name: str
    uid: str
    resource_version: str
    ref: Obj
    """The Trial's metadata as far as ownership and Events need it."""
    record: Trial | None

    def owned_by(self, study_uid: str) -> bool:
        return owned_by(self.ref, study_uid)


def trial_entry(obj: Mapping[str, Any]) -> TrialEntry:
    """Parse a Trial object (once per resourceVersion: the index keeps the result)."""
    meta = dict(obj.get("metadata") or {})
    kept = {k: meta[k] for k in KEPT_META if k in meta}
    if isinstance(kept.get("labels"), Mapping):  # equal strings kept once (`shared_parts`)
        kept["labels"] = shared_strings(dict(kept["labels"]))
    if isinstance(kept.get("namespace"), str):
        kept["namespace"] = sys.intern(kept["namespace"])
    owners = shared_owners(meta.get("ownerReferences") or [])
    ref = {"metadata": {**kept, "ownerReferences": owners}}
    body = {k: obj[k] for k in ("apiVersion", "kind", "spec", "status") if k in obj}
    record, from_json, problem = parsed_record({**body, "metadata": kept})
    if problem is not None:  # said once a version: a version is parsed once (`Store.trial`)
        log.warning("Trial %s/%s: %s; left out", kept.get("namespace"), kept.get("name"), problem)
    if record is not None:
        economics = (obj.get("status") or {}).get("economics")
        raw_sources = economics.get("sources") if isinstance(economics, Mapping) else None
        share_parts(record, share_strings=not from_json, raw_sources=raw_sources)
    return TrialEntry(
        str(meta.get("name", "")),
        str(meta.get("uid", "")),
        str(meta.get("resourceVersion", "")),
        ref,
        record,
    )


def parse_trial(body: dict[str, Any]) -> tuple[Trial, bool]:
    """A Trial body (decoded from the API's JSON) validated, and whether it went through
    JSON: written back to JSON and validated from there, where pydantic-core shares
    equal short strings between records as it parses (a Python walk interning them took
    more CPU than the validation, at 10,000 Trials of a restart). The API's JSON holds no
    NaN or infinity (JSON has none), which JSON could not carry over; what orjson cannot
    write (a key that is not a string, an integer over 64 bits) is validated as it is.
    Raises ValidationError."""
    try:
        text = orjson.dumps(body)
    except TypeError:  # orjson.JSONEncodeError
        return Trial.model_validate(body), False
    return Trial.model_validate_json(text), True


RECORD_FIELDS = ("apiVersion", "kind", "metadata", "spec", "status")
"""What a Trial object's record is made of (the API's other fields are left out)."""


def checked_record(obj: Mapping[str, Any]) -> tuple[Trial | None, str | None]:
    """(the record of a Trial object, None) or (None, why it is none): an object that
    does not parse, or is not a record of the Study it is labelled for, is no record."""
    record, _, problem = parsed_record({k: obj[k] for k in RECORD_FIELDS if k in obj})
    return record, problem


_TOLD: set[tuple[str | None, str, str]] = set()
"""Records `study_records` left out and said so (cleared when it grows past `TOLD_CAP`)."""
TOLD_CAP = 10_000


def study_records(records: Sequence[Trial], objectives: int) -> list[Trial]:
    """`records` without those a Trial edited by hand made no record of the Study though
    each parsed: objective values not the Study's (`values_problem`), or an Ensemble
    trial numbered as a search trial is (its name does not follow its number, and two
    records of one number are one too many). Each is left out with one log line, once."""
    suspect = [
        r
        for r in records
        if r.spec.kind != "Search" or ((v := r.status.values) is not None and len(v) != objectives)
    ]
    if not suspect:  # the usual case, in one pass
        return list(records)
    search = {r.number for r in records if not r.is_ensemble}
    left_out: set[int] = set()
    for record in suspect:
        problem = values_problem(record, objectives)
        if problem is None and record.is_ensemble and record.number in search:
            problem = f"trial number {record.number} is a search trial's"
        if problem is None:
            continue
        left_out.add(id(record))
        told = (record.metadata.namespace, record.metadata.name, problem)
        if told not in _TOLD:
            if len(_TOLD) >= TOLD_CAP:
                _TOLD.clear()
            _TOLD.add(told)
            log.warning("Trial %s/%s: %s; left out", told[0], told[1], problem)
    return [r for r in records if id(r) not in left_out]


def parsed_record(body: dict[str, Any]) -> tuple[Trial | None, bool, str | None]:
    """`checked_record`, and whether the record was parsed from JSON (`parse_trial`)."""
    try:
        record, from_json = parse_trial(body)
    except ValidationError as exc:
        return None, False, f"not a valid Trial ({format_validation_error(exc, Trial)[0]})"
    study = (record.metadata.labels or {}).get(STUDY_LABEL)
    problem = None if study is None else study_problem(record, study)
    return (None, False, problem) if problem is not None else (record, from_json, None)


def study_key(body: Mapping[str, Any]) -> Key | None:
    """(namespace, the study label) of a Trial or Pod; None without the label."""
    meta = body.get("metadata") or {}
    study = (meta.get("labels") or {}).get(STUDY_LABEL)
    return (str(meta.get("namespace") or ""), str(study)) if study else None


def newer(version: str, than: str) -> bool:
    """Whether resourceVersion `version` is later than `than` (the API server's are etcd
    revisions, numbers; anything else counts as later)."""
    if version.isdigit() and than.isdigit():
        return int(version) > int(than)
    return version != than


@dataclass(frozen=True)
class PodEntry:
    """A pod that is neither ended nor being deleted: the clean-up's view of it."""

    name: str
    owner_uid: str
    attempt: int | None


def pod_entry(body: Mapping[str, Any]) -> PodEntry | None:
    """A pod as the clean-up sees it; None once it ended or is being deleted."""
    meta = body.get("metadata") or {}
    if meta.get("deletionTimestamp") or phase(dict(body)) == "ended":
        return None
    try:
        attempt: int | None = int((meta.get("labels") or {}).get(ATTEMPT_LABEL, "0"))
    except ValueError:
        attempt = None
    owner = str((controller_of(dict(body)) or {}).get("uid"))
    return PodEntry(str(meta.get("name", "")), owner, attempt)


def plain(value: Any) -> Any:
    """A deep copy of a kopf body (or part of one) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class Store:
    """Trials (parsed) and running pods by Study, and Study objects, from the watches."""

    def __init__(self) -> None:
        self._trials: dict[Key, dict[str, TrialEntry]] = {}
        self._gone: dict[Key, set[str]] = {}
        self._pods: dict[Key, dict[str, PodEntry]] = {}
        self._studies: dict[Key, Obj] = {}
        self._listed: set[tuple[str, str | None]] = set()
        self._guard = threading.Lock()
        self._synced = threading.Condition()

    # -- trials --------------------------------------------------------------------------
    def trial(self, obj: Mapping[str, Any] | None, deleted: bool = False) -> None:
        """A Trial as an event or the API's answer to a write showed it."""
        if not isinstance(obj, Mapping) or (key := study_key(obj)) is None:
            return
        meta = obj.get("metadata") or {}
        uid, version = str(meta.get("uid", "")), str(meta.get("resourceVersion", ""))
        with self._guard:
            kept = self._trials.setdefault(key, {})
            if deleted:
                kept.pop(uid, None)
                self._gone.setdefault(key, set()).add(uid)
                return
            old = kept.get(uid)
            if uid in self._gone.get(key, ()) or (
                old is not None and not newer(version, old.resource_version)
            ):
                return
        entry = trial_entry(obj)  # parsed outside the lock
        with self._guard:
            old = self._trials.setdefault(key, {}).get(uid)
            if old is None or newer(version, old.resource_version):
                self._trials[key][uid] = entry

    def current(self, obj: Mapping[str, Any]) -> bool:
        """Whether a Trial's body is as new as what is kept of it (an event may arrive
        after the operator's own later write went in)."""
        key = study_key(obj)
        meta = obj.get("metadata") or {}
        uid, version = str(meta.get("uid", "")), str(meta.get("resourceVersion", ""))
        with self._guard:
            if key is None or uid in self._gone.get(key, ()):
                return key is None
            kept = self._trials.get(key, {}).get(uid)
            return kept is None or not newer(kept.resource_version, version)

    def listed(self, what: str, scope: str | None) -> None:
        """An informer's first listing of `what` ("trials" or "pods") in namespace `scope`
        (None: every namespace) is complete: from now on the store holds all of them."""
        with self._synced:
            self._listed.add((what, scope))
            self._synced.notify_all()

    def wait_listed(self, namespace: str, timeout: float) -> bool:
        """Wait until the Trials and pods of `namespace` are listed; False on timeout."""

        def complete() -> bool:
            return all(
                (what, namespace) in self._listed or (what, None) in self._listed for what in LISTED
            )

        with self._synced:
            return self._synced.wait_for(complete, timeout)

    def trials(self, key: Key) -> list[TrialEntry]:
        with self._guard:
            return list(self._trials.get(key, {}).values())

    # -- pods and studies ----------------------------------------------------------------
    def pod(self, body: Mapping[str, Any], deleted: bool = False) -> None:
        key = study_key(body)
        if key is None:
            return
        name = str((body.get("metadata") or {}).get("name", ""))
        entry = None if deleted else pod_entry(body)
        with self._guard:
            running = self._pods.setdefault(key, {})
            if entry is None:
                running.pop(name, None)
            else:
                running[name] = entry

    def active_pods(self, key: Key) -> list[PodEntry]:
        with self._guard:
            return list(self._pods.get(key, {}).values())

    def study(self, body: Mapping[str, Any], deleted: bool = False) -> None:
        meta = body.get("metadata") or {}
        key = (str(meta.get("namespace") or ""), str(meta.get("name", "")))
        obj = None if deleted else {k: plain(v) for k, v in body.items()}
        with self._guard:
            if obj is None:
                self._studies.pop(key, None)
            else:
                self._studies[key] = obj

    def study_obj(self, key: Key) -> Obj | None:
        with self._guard:
            return self._studies.get(key)

    def forget(self, key: Key) -> None:
        """Drop what is kept for a Study that was deleted."""
        with self._guard:
            self._trials.pop(key, None)
            self._gone.pop(key, None)
            self._pods.pop(key, None)

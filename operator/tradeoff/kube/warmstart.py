"""Warm start in a cluster: the trials of earlier Studies, read through the API.

A Study may name earlier Studies in its own namespace only: whoever may create a Study
there may read its Studies and Trials (the `edit` role grants both), so the priors tell
the author nothing they could not read themselves. Another namespace is refused.

Only Studies that have ended are read, and only the Trials they control: an ended
Study's trials no longer change, so the priors (and the engine's proposals) are the same
after an operator restart. A Study whose source still runs waits for it. What a prior
trial means is decided by the engine (`tradeoff.engine.priors`).
"""

from __future__ import annotations

from collections.abc import Callable

from tradeoff.api.study import Study
from tradeoff.api.trial import Trial
from tradeoff.engine.priors import Source
from tradeoff.kube.cache import checked_record, study_records
from tradeoff.kube.client import Kube, Obj
from tradeoff.kube.ownership import owned_by

ENDED = ("Succeeded", "Failed")

SourceReader = Callable[[str, Study], list[Source]]
"""(the Study's namespace, the Study) -> its warm-start sources."""


class WarmStartProblem(ValueError):
    """A source the Study may not or cannot use; one line naming the field and the fix."""


class WarmStartWaiting(Exception):
    """A source has not ended yet; the Study waits for it."""


def reader(kube: Kube) -> SourceReader:
    """Reads the sources of a Study from the API."""

    def read(namespace: str, study: Study) -> list[Source]:
        warm = study.spec.warm_start
        sources: list[Source] = []
        for i, ref in enumerate(warm.from_studies if warm else []):
            where = f"spec.warmStart.fromStudies[{i}]"
            if ref.namespace not in (None, namespace):
                raise WarmStartProblem(
                    f"{where}.namespace: Studies of namespace {ref.namespace} cannot be read"
                    f" from namespace {namespace}; name a Study of {namespace}, or copy the"
                    " results you may read into spec.warmStart.trials (with values)"
                )
            if ref.name == study.metadata.name:
                raise WarmStartProblem(f"{where}.name: names this Study; name an earlier one")
            obj = kube.get_object("studies", namespace, ref.name)
            if obj is None:
                raise WarmStartProblem(
                    f"{where}.name: no Study {ref.name} in namespace {namespace}"
                    " (kubectl get studies lists them)"
                )
            state = (obj.get("status") or {}).get("state", "Pending")
            if state not in ENDED:
                raise WarmStartWaiting(
                    f"waiting for Study {ref.name} to end (it is {state}): warm start reads"
                    " ended Studies only, so that its prior trials stay the same"
                )
            spec = obj.get("spec") or {}
            objectives = [str(o.get("name")) for o in spec.get("objectives") or []]
            records = [r for r in ended_records(kube, obj) if r.state == "Succeeded"]
            sources.append(Source(ref.name, objectives, records))
        return sources

    return read


def ended_records(kube: Kube, obj: Obj) -> list[Trial]:
    """The records of the Trials the Study `obj` controls (ones that are no record of it,
    `checked_record` and `study_records` by its objectives, left out)."""
    meta = obj.get("metadata") or {}
    uid = str(meta.get("uid", ""))
    records = []
    for t in kube.list_trials(str(meta.get("namespace") or ""), str(meta.get("name"))):
        if not owned_by(t, uid):
            continue
        record, _ = checked_record(t)
        if record is not None:
            records.append(record)
    objectives = (obj.get("spec") or {}).get("objectives")
    return study_records(records, len(objectives)) if isinstance(objectives, list) else records

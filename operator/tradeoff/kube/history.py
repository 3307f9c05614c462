"""The ended Studies of a namespace with a Study's space, for `auto` to learn from.

Only the Study's own namespace is read: whoever may create a Study there may read its
Studies and Trials, so the choice tells the author nothing they could not read. A Study
counts when it has ended (its trials no longer change), its spec parses with the same
space signature (`tradeoff.engine.autohistory`) and it recorded the algorithm it ran.
The namespace's Studies are listed once; the Trials of at most `MAX_STUDIES` are read,
newest Studies first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from tradeoff.api.status import StudyStatus
from tradeoff.api.study import Study, StudySpec
from tradeoff.engine.autohistory import MAX_STUDIES, PastStudy, past_algorithm, space_signature
from tradeoff.kube.client import Kube
from tradeoff.kube.warmstart import ENDED, ended_records

HistoryReader = Callable[[str, Study], list[PastStudy]]
"""(the Study's namespace, the Study) -> the ended Studies of its space there."""


def history_reader(kube: Kube) -> HistoryReader:
    """Reads the history of a Study's space from the API."""

    def read(namespace: str, study: Study) -> list[PastStudy]:
        signature = space_signature(study.spec)
        found: list[PastStudy] = []
        objs = sorted(kube.list_studies(namespace), key=_name)
        objs.sort(key=_created, reverse=True)  # newest first (stable: by name within a second)
        for obj in objs:
            name = str(obj["metadata"]["name"])
            status = obj.get("status") or {}
            if name == study.metadata.name or status.get("state") not in ENDED:
                continue
            try:
                spec = StudySpec.model_validate(obj.get("spec") or {})
                recorded = StudyStatus.model_validate(status).algorithm
            except ValidationError:
                continue
            algorithm = past_algorithm(spec.algorithm.name, recorded)
            if algorithm is None or space_signature(spec) != signature:
                continue
            found.append(PastStudy(name, algorithm, ended_records(kube, obj)))
            if len(found) >= MAX_STUDIES:
                break
        return found

    return read


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name"))


def _created(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("creationTimestamp") or "")  # ISO: sorts as text

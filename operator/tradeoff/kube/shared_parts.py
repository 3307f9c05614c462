"""Parts of the Trial records the watch store keeps, shared between records.

A study's records are mostly alike, and each is kept for the operator's whole life, so
equal parts are kept once: the economics' `sources` (about 2 KiB a record), pydantic's
per-model set of the fields a manifest set (`__pydantic_fields_set__`: six sets of 216-728
bytes a record, the same for every record written by the same operator), the owner
references, and short strings that recur (keys, reasons, label values: `sys.intern`).
A finished trial's record and metadata took 11.0 KiB, 5.1 KiB so (`tracemalloc`).
Records are never changed in place (a pass builds new ones), and the operator never
dumps them with `exclude_unset`, the only reader of the fields sets. Each table is
bounded, so a study whose records all differ costs what it did before, not more.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from pydantic import BaseModel

from tradeoff.api.economics import EconomicsSources
from tradeoff.api.trial import TRIAL_LABEL, Trial

MAX_SHARED = 1024
"""Distinct parts of each kind kept for sharing (beyond it a record keeps its own)."""
MAX_INTERNED_LENGTH = 64
"""Strings up to this length are interned (reasons, regions, label values), unless they
name one trial (`PER_TRIAL`: interning a string no other record holds saves nothing)."""
PER_TRIAL = frozenset(
    {"name", "uid", "resourceVersion", "creationTimestamp", "pod_name", "summary", TRIAL_LABEL}
)

_sources: dict[str, EconomicsSources] = {}
_fields_sets: dict[tuple[type[BaseModel], frozenset[str]], set[str]] = {}
_owners: dict[str, list[Any]] = {}
_guard = threading.Lock()


def share_parts(record: Trial) -> Trial:
    """`record` with its equal parts shared with the records kept before it."""
    economics = record.status.economics
    if economics is not None and economics.sources is not None:
        economics.sources = _shared_sources(economics.sources)
    _share_within(record)
    return record


def shared_owners(owners: list[Any]) -> list[Any]:
    """An ownerReferences list, the one kept copy of it if an equal one is kept."""
    key = json.dumps(owners, sort_keys=True, default=str)
    with _guard:
        shared = _owners.get(key)
        if shared is None and len(_owners) < MAX_SHARED:
            _owners[key] = shared = owners
    return shared if shared is not None else owners


def _shared_sources(sources: EconomicsSources) -> EconomicsSources:
    key = sources.model_dump_json()
    with _guard:
        shared = _sources.get(key)
        if shared is None and len(_sources) < MAX_SHARED:
            _sources[key] = shared = sources
    return shared or sources


def _share_within(model: BaseModel) -> None:
    """Point each model of the record at one set of its field names per distinct set, and
    its short strings (names, keys, reasons) at one copy each (`sys.intern`)."""
    values = model.__dict__
    for name, value in values.items():
        if isinstance(value, BaseModel):
            _share_within(value)
        elif isinstance(value, str):
            values[name] = _intern(name, value)
        elif isinstance(value, dict):
            values[name] = shared_strings(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    _share_within(item)
    if model.__pydantic_extra__:
        model.__pydantic_extra__ = shared_strings(model.__pydantic_extra__)
    fields = model.__pydantic_fields_set__
    key = (type(model), frozenset(fields))
    with _guard:
        shared = _fields_sets.get(key)
        if shared is None and len(_fields_sets) < MAX_SHARED:
            _fields_sets[key] = shared = fields
    if shared is not None:
        object.__setattr__(model, "__pydantic_fields_set__", shared)


def shared_strings(mapping: dict[str, Any]) -> dict[str, Any]:
    """A flat mapping (labels, metrics) with its keys and short values interned."""
    return {sys.intern(k): _intern(k, v) for k, v in mapping.items()}


def _intern(name: str, value: Any) -> Any:
    """`value`, interned if it is a short string likely repeated in other records."""
    if type(value) is str and len(value) <= MAX_INTERNED_LENGTH and name not in PER_TRIAL:
        return sys.intern(value)
    return value

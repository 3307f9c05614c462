"""Parts of the Trial records the watch store keeps, shared between records.

A study's records are mostly alike, and each is kept for the operator's whole life, so
equal parts are kept once: the economics' `sources` (about 2 KiB a record), pydantic's
per-model set of the fields a manifest set (`__pydantic_fields_set__`: six sets of 216-728
bytes a record, the same for every record written by the same operator), the owner
references, and short strings that recur (keys, reasons, label values).
A finished trial's record and metadata took 11.0 KiB, 5.1 KiB so (`tracemalloc`).
Records are never changed in place (a pass builds new ones), and the operator never
dumps them with `exclude_unset`, the only reader of the fields sets. Each table is
bounded, so a study whose records all differ costs what it did before, not more.

The strings of a record parsed from JSON are shared by pydantic-core's own string cache
(`cache_strings`, on by default in `model_validate_json`: strings up to 64 characters);
`share_strings` interns them, for a record parsed from Python objects.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, get_args

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
_last_fields_set: dict[type[BaseModel], set[str]] = {}
"""The fields set last shared for each model class: nearly every record's equals it, and
comparing two sets costs less than building the frozenset `_fields_sets` is keyed by."""
_owners: dict[str, list[Any]] = {}
_last: dict[str, Any] = {"owners": None, "sources": None, "sources_raw": None}
"""The owner references and sources last shared (and the sources' JSON they were parsed
from): a record's nearly always equal them, and comparing costs less than a key."""
_guard = threading.Lock()


def share_parts(record: Trial, share_strings: bool = True, raw_sources: Any = None) -> Trial:
    """`record` with its equal parts shared with the records kept before it; its short
    strings interned too if `share_strings` (a record parsed from JSON has them shared).
    `raw_sources`: the economics' sources as the record was parsed from (comparing them
    with the last record's is a quicker test than the model's key)."""
    economics = record.status.economics
    shared: EconomicsSources | None = None
    if economics is not None and economics.sources is not None:
        economics.sources = _shared_sources(economics.sources, raw_sources)
        shared = economics.sources
    if share_strings:
        _share_within(record)
    else:
        _share_fields_sets(record, shared)  # the kept sources are shared already
    return record


def shared_owners(owners: list[Any]) -> list[Any]:
    """An ownerReferences list, the one kept copy of it if an equal one is kept."""
    last = _last["owners"]
    if last is not None and last == owners:  # nearly always: one Study's Trials
        return last  # type: ignore[no-any-return]
    key = json.dumps(owners, sort_keys=True, default=str)
    with _guard:
        shared = _owners.get(key)
        if shared is None and len(_owners) < MAX_SHARED:
            _owners[key] = shared = owners
        if shared is not None:
            _last["owners"] = shared
    return shared if shared is not None else owners


def _shared_sources(sources: EconomicsSources, raw: Any) -> EconomicsSources:
    last, last_raw = _last["sources"], _last["sources_raw"]
    if raw is not None and last is not None and last_raw == raw:
        return last  # type: ignore[no-any-return]
    key = sources.model_dump_json()
    with _guard:
        shared = _sources.get(key)
        if shared is None and len(_sources) < MAX_SHARED:
            _sources[key] = shared = sources
        if shared is not None:
            _last["sources"], _last["sources_raw"] = shared, raw
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
    _share_fields_set(model)


def _share_fields_sets(model: BaseModel, done: BaseModel | None = None) -> None:
    """Point each model of the record at one set of its field names per distinct set
    (but `done` and its models)."""
    values = model.__dict__
    for name in _model_fields_of(type(model)):
        value = values.get(name)
        if value is done:
            continue
        if isinstance(value, BaseModel):
            _share_fields_sets(value, done)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, BaseModel):
                    _share_fields_sets(item, done)
    _share_fields_set(model)


_holders: dict[type[BaseModel], tuple[str, ...]] = {}


def _model_fields_of(kind: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a model class whose type may hold a model (alone or in a list)."""
    names = _holders.get(kind)
    if names is None:
        names = tuple(
            name for name, field in kind.model_fields.items() if _holds_model(field.annotation)
        )
        _holders[kind] = names
    return names


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in get_args(annotation))


def _share_fields_set(model: BaseModel) -> None:
    fields = model.__pydantic_fields_set__
    kind = type(model)
    shared = _last_fields_set.get(kind)
    if shared is None or shared != fields:
        key = (kind, frozenset(fields))
        with _guard:
            shared = _fields_sets.get(key)
            if shared is None and len(_fields_sets) < MAX_SHARED:
                _fields_sets[key] = shared = fields
            if shared is not None:
                _last_fields_set[kind] = shared
    if shared is not None and shared is not fields:
        object.__setattr__(model, "__pydantic_fields_set__", shared)


def shared_strings(mapping: dict[str, Any]) -> dict[str, Any]:
    """A flat mapping (labels, metrics) with its keys and short values interned."""
    return {sys.intern(k): _intern(k, v) for k, v in mapping.items()}


def _intern(name: str, value: Any) -> Any:
    """`value`, interned if it is a short string likely repeated in other records."""
    if type(value) is str and len(value) <= MAX_INTERNED_LENGTH and name not in PER_TRIAL:
        return sys.intern(value)
    return value

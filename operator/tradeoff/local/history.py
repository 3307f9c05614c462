"""The finished studies of the workdir root with this study's space, for `auto` to learn from.

Only what `tradeoff.engine.autohistory` needs is read here: a workdir counts when its
`study.json` has the same space signature, it recorded the algorithm it ran, and every
trial in it has finished (a run in progress or interrupted mid-trial does not count). A
workdir that cannot be read is passed over: another study's broken files must not stop
this one. At most `MAX_SCANNED` workdirs are looked at and `MAX_STUDIES` read, newest
first.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from tradeoff.api.study import StudySpec
from tradeoff.engine.autohistory import MAX_STUDIES, PastStudy, past_algorithm, space_signature
from tradeoff.local.store import FileStore, StoreError

MAX_SCANNED = 200
"""Workdirs whose `study.json` is read at most, newest first."""


def past_studies(spec: StudySpec, workdir: Path) -> list[PastStudy]:
    """Finished studies under `workdir`'s root (not `workdir`) with `spec`'s space."""
    signature = space_signature(spec)
    root = workdir.parent
    try:
        candidates = [p for p in root.iterdir() if (p / "study.json").is_file()]
    except OSError:
        return []
    own = workdir.resolve()
    candidates = [p for p in candidates if p.resolve() != own]
    candidates.sort(key=_mtime, reverse=True)
    found: list[PastStudy] = []
    for path in candidates[:MAX_SCANNED]:
        past = _read(FileStore(path), signature)
        if past is not None:
            found.append(past)
            if len(found) >= MAX_STUDIES:
                break
    return sorted(found, key=lambda s: s.name)


def _read(store: FileStore, signature: str) -> PastStudy | None:
    try:
        saved = store.read_study()
        spec = StudySpec.model_validate(saved.spec)
        if space_signature(spec) != signature:
            return None
        algorithm = past_algorithm(spec.algorithm.name, saved.algorithm)
        records = store.load_trials()
    except (StoreError, ValidationError):
        return None
    if algorithm is None or not records or not all(r.finished for r in records):
        return None
    return PastStudy(store.workdir.name, algorithm, records)


def _mtime(path: Path) -> float:
    try:
        return (path / "study.json").stat().st_mtime
    except OSError:
        return 0.0

"""Warm start in local mode: the prior trials of a study, read from other studies' workdirs.

`spec.warmStart.fromStudies` names a study under the workdir root (the folder holding this
study's workdir, `.tradeoff/` by default) or the path of a workdir. The finished trials
read when the study first starts are kept in its workdir (`priors.json`), so a resumed run
(and `tradeoff show`) sees exactly the same priors even if the sources ran on since. What
a prior trial means is decided by the engine (`tradeoff.engine.priors`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.priors import Priors, Source, match
from tradeoff.local.files import MAX_PRIORS_BYTES, parse_json, read_bounded, write_atomically
from tradeoff.local.store import FileStore, StoreError

__all__ = ["PRIORS_FILE", "check_sources", "load_priors", "recorded_priors", "source_workdir"]

PRIORS_FILE = "priors.json"


def source_workdir(name: str, workdir: Path) -> Path:
    """The workdir `name` names: a study under `workdir`'s root, or a path to a workdir."""
    named = workdir.parent / name
    if "/" not in name and (named / "study.json").is_file():
        return named
    path = Path(name).expanduser()
    if (path / "study.json").is_file():
        return path
    raise StoreError(
        f"spec.warmStart.fromStudies: no study workdir {name!r} (looked in {named} and {path});"
        " name a study under the workdir root or give the path of its workdir"
    )


def check_sources(spec: StudySpec, workdir: Path) -> None:
    """Refuse a source study that is not there before the run records anything in `workdir`:
    a study's warmStart is fixed once it started, so a refusal after that would leave the
    author a workdir that refuses the corrected manifest. Sources whose priors are already
    recorded are not looked for (they may have been deleted since)."""
    warm = spec.warm_start
    if warm is None or (workdir / PRIORS_FILE).exists():
        return
    for i, ref in enumerate(warm.from_studies):
        _source_path(i, ref.name, workdir)


def _source_path(index: int, name: str, workdir: Path) -> Path:
    own = workdir.resolve()
    named = workdir.parent / name if "/" not in name else None
    if own in (named.resolve() if named else None, Path(name).expanduser().resolve()):
        raise StoreError(
            f"spec.warmStart.fromStudies[{index}]: {name!r} is this study's own workdir;"
            " name an earlier study"
        )
    return source_workdir(name, workdir)


def load_priors(spec: StudySpec, store: FileStore) -> Priors:
    """The priors of the study in `store`: recorded ones, else read now and recorded."""
    warm = spec.warm_start
    if warm is None:
        return Priors()
    sources = _read_recorded(store.workdir)
    if sources is None:
        sources = []
        for i, ref in enumerate(warm.from_studies):
            path = _source_path(i, ref.name, store.workdir)
            sources.append(_read_source(ref.name, FileStore(path)))
        _record(store.workdir, sources)
    return match(spec, sources)


def recorded_priors(spec: StudySpec, workdir: Path) -> Priors:
    """The priors a run recorded in `workdir` (for result commands; reads no other study)."""
    if spec.warm_start is None:
        return Priors()
    return match(spec, _read_recorded(workdir) or [])


def _read_source(name: str, store: FileStore) -> Source:
    saved = store.read_study()
    objectives = [str(o.get("name")) for o in saved.spec.get("objectives", [])]
    records = [r for r in store.load_trials() if r.state == "Succeeded"]
    return Source(name, objectives, records)


def _record(workdir: Path, sources: list[Source]) -> None:
    document = {
        "sources": [
            {
                "name": s.name,
                "objectives": list(s.objectives),
                "trials": [
                    r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in s.records
                ],
            }
            for s in sources
        ]
    }
    write_atomically(workdir / PRIORS_FILE, json.dumps(document, sort_keys=True) + "\n")


def _read_recorded(workdir: Path) -> list[Source] | None:
    path = workdir / PRIORS_FILE
    try:
        document: Any = parse_json(read_bounded(path, MAX_PRIORS_BYTES))
        return [
            Source(
                str(s["name"]),
                [str(o) for o in s["objectives"]],
                [Trial.model_validate(t) for t in s["trials"]],
            )
            for s in document["sources"]
        ]
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StoreError(
            f"{path}: not a valid priors file ({first}); delete it to read the source studies again"
        ) from None

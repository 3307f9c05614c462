"""Opening a local run: the workdir's study, the algorithm it recorded (or the one chosen
now, then recorded) and the engine with its warm-start priors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import Study, StudySpec
from tradeoff.engine import Engine
from tradeoff.engine.validation import choose_algorithm, recorded_problem
from tradeoff.local.history import past_studies
from tradeoff.local.store import FileStore, StoreError
from tradeoff.local.warmstart import check_sources, load_priors


@dataclass(frozen=True)
class OpenedRun:
    started_at: datetime
    """When the study first started (runs resumed later keep it)."""
    algorithm: AlgorithmChoice
    engine: Engine


def open_run(study: Study, store: FileStore, warn: Callable[[str], None]) -> OpenedRun:
    """Open the study in the store and build its engine; `warn` hears of dropped priors."""
    spec, name = study.spec, study.metadata.name
    check_sources(spec, store.workdir)  # before the workdir fixes the study's warmStart
    opened = store.open(study)
    algorithm = run_algorithm(spec, store, opened.algorithm)
    priors = load_priors(spec, store)
    engine = Engine(spec, algorithm.name, study=name, key=store.signing_key(), priors=priors)
    if priors.dropped:
        warn(f"warm start: {priors.describe()}")
    return OpenedRun(opened.started_at, algorithm, engine)


def run_algorithm(
    spec: StudySpec, store: FileStore, recorded: AlgorithmChoice | None
) -> AlgorithmChoice:
    """The algorithm recorded when the study started, or the one chosen now (recorded)."""
    problem = recorded_problem(spec, recorded) if recorded is not None else None
    if problem is not None:
        raise StoreError(f"{store.study_path}: {problem} (or start afresh with another --workdir)")
    history = functools.partial(past_studies, spec, store.workdir)  # read if needed
    chosen = choose_algorithm(spec, recorded, datetime.now(UTC), history)
    if chosen is not recorded:
        store.record_algorithm(chosen)
    return chosen

"""Where a finished (or running) study is read from: a local workdir or a cluster Study.

Both give the same `StudyView`: the spec, the algorithm recorded when the study started,
its Trial records and how it stands. Everything shown is computed from these by the engine
(`Engine.summarize`, `Engine.stop_decision`), never by the result commands themselves.

A study is named like kubectl names objects: ``study/NAME`` is the Study ``NAME`` in the
current kubeconfig context and namespace (``--context``, ``-n``); anything else is a local
workdir, either a directory holding ``study.json`` or a study name under the workdir root
(``.tradeoff/`` under the current directory, ``--root``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError

from tradeoff.api.errors import format_validation_error
from tradeoff.api.status import AlgorithmChoice, Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine import Engine, Summary, pareto_front, signing
from tradeoff.engine.insights import insights
from tradeoff.local.store import FileStore, StoreError
from tradeoff.local.warmstart import recorded_priors

__all__ = [
    "CLUSTER_PREFIX",
    "SourceError",
    "StudyView",
    "is_cluster_ref",
    "local_view",
    "workdir_of",
]

CLUSTER_PREFIX = "study/"


class SourceError(Exception):
    """A study cannot be read; the message is one line naming what and the fix."""


@dataclass(frozen=True)
class StudyView:
    """A study as a result command sees it."""

    name: str
    where: str
    """Where it was read, for people: ``workdir .tradeoff/x`` or ``study/x in namespace ns``."""
    spec: StudySpec
    algorithm: AlgorithmChoice | None
    records: list[Trial]
    state: str
    """Pending, Running, Succeeded, Failed, or Interrupted (a local run stopped early)."""
    reason: str
    message: str
    warnings: tuple[str, ...] = ()
    """One line per record whose sampler state the study's key did not sign."""

    @cached_property
    def engine(self) -> Engine:
        return Engine(self.spec, self.algorithm.name if self.algorithm else None, study=self.name)

    @cached_property
    def summary(self) -> Summary:
        return self.engine.summarize(self.records)

    @cached_property
    def insights(self) -> list[Insight]:
        """What the records show (`tradeoff.engine.insights`), most important first."""
        return insights(self.spec, self.records)

    @cached_property
    def front_names(self) -> set[str]:
        """The whole Pareto front (the summary's is capped at 50 points)."""
        return {t.metadata.name for t in pareto_front(self.spec, self.records)}

    @property
    def headline(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return f"Study {self.name} {self.state}{why}: {self.message}"

    @property
    def progress(self) -> str:
        finished = sum(1 for r in self.records if r.finished and not r.is_ensemble)
        return f"{finished}/{self.spec.budget.max_trials}"


def is_cluster_ref(ref: str) -> bool:
    return ref.startswith(CLUSTER_PREFIX)


def workdir_of(ref: str, root: Path | None) -> Path:
    """The workdir ``ref`` names: a directory with a study.json, or a name under ``root``."""
    path = Path(ref)
    # exists, not is_file: a study.json that is not a file is named when it is read
    if (path / "study.json").exists():
        return path
    base = root if root is not None else Path.cwd() / ".tradeoff"
    named = base / ref
    if "/" not in ref and (named / "study.json").exists():
        return named
    if path.is_dir() and not (path / "study.json").exists():
        raise SourceError(
            f"{ref}: not a study workdir (no study.json); give the directory a"
            " `tradeoff run` wrote, e.g. .tradeoff/NAME, or study/NAME for a cluster Study"
        )
    raise SourceError(
        f"{ref}: no such study workdir (looked in {path} and {named}); run `tradeoff list`"
        " to see the local studies, or write study/NAME for a cluster Study"
    )


def local_view(workdir: Path) -> StudyView:
    """The study a `tradeoff run` recorded in ``workdir``."""
    store = FileStore(workdir)
    try:
        saved = store.read_study()
        records = store.load_trials()
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    try:
        spec = StudySpec.model_validate(saved.spec)
    except ValidationError as exc:
        first = format_validation_error(exc, StudySpec, "spec")[0]
        raise SourceError(f"{store.study_path}: {first} (written by another version?)") from None
    name = saved.name
    algorithm = saved.algorithm
    try:
        priors = recorded_priors(spec, workdir)
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    engine = Engine(spec, algorithm.name if algorithm else None, study=name, priors=priors)
    ended = [r.status.completion_time for r in records if r.status.completion_time]
    elapsed = (max(ended) - saved.started_at).total_seconds() if ended else None
    decision = engine.stop_decision(records, elapsed)
    if _locked(workdir):
        state, reason, message = "Running", "", f"a `tradeoff run` is using {workdir}"
    elif decision is not None:
        state, reason, message = decision.state, decision.reason, decision.message
    else:
        search = [r for r in records if not r.is_ensemble]
        unfinished = sum(1 for r in search if not r.finished)
        state, reason = "Interrupted", "Interrupted"
        message = (
            f"{len(search) - unfinished} of {spec.budget.max_trials} trials finished;"
            " rerun `tradeoff run` with its manifest to resume"
        )
    view = StudyView(
        name,
        f"workdir {workdir}",
        spec,
        algorithm,
        records,
        state,
        reason,
        message,
        _unsigned(store, name, records),
    )
    view.__dict__["engine"] = engine  # already made: cached_property reads it from here
    return view


def _unsigned(store: FileStore, study: str, records: list[Trial]) -> tuple[str, ...]:
    """A line per record whose sampler state does not verify with the workdir's key
    (read, never made: a result command writes nothing), as `tradeoff run` warns."""
    stated = [r for r in records if r.spec.sampler_state]
    if not stated:
        return ()
    try:
        key = store.signing_key() if store.key_path.exists() else signing.new_key()
    except StoreError as exc:
        raise SourceError(str(exc)) from None
    verifier = signing.Verifier(key, study)
    return tuple(
        signing.unsigned_line(r.metadata.name)
        for r in stated
        if not verifier.verified(r.number, r.spec.sampler_state)[1]
    )


def _locked(workdir: Path) -> bool:
    """Whether a run holds the workdir's lock (tested without taking it for long)."""
    try:
        # not blocking: a FIFO put in its place would wait for a writer forever
        fd = os.open(workdir / ".lock", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    else:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)

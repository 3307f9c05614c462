"""The file store of local mode: a directory holding a study's spec and its trial records.

Layout of a study's workdir (default ``.tradeoff/<study-name>`` under the cwd)::

    .lock                    held (flock) by the run using the workdir; holds its pid
    study.json               the spec as validated, the time the study first started and
                             the algorithm chosen then (what `auto` resolved to, and why)
    trials/<trial>.json      one Trial record each (the record shape every store keeps)
    logs/<trial>.log         what each trial printed (stdout and stderr, every attempt)
    artifacts/<trial>/       the files the trial's final attempt saved (save_artifact)
    attempts/                termination logs of running attempts (scratch)
    attempts/children.jsonl  journal of the running trial children (pid, start time), for
                             stopping those a killed run left (``tradeoff.local.children``)
    attempts/energy/<n>/     CodeCarbon's folder of each attempt running (reused)
    report.html              the report written at the end of a run
    status.json              the insights a run computed as it ran (``status_file``)

Every file is written atomically (temporary file, rename), so a crash of the run at any
moment leaves either the old or the new version of a record, never half of one. The
study file is flushed to disk (fsync) before the rename; trial records are flushed in the
background (``tradeoff.local.durable``) and all of them before a run ends, so a crash of
the machine mid-run loses at most the last moments' records (those trials run again). The
runner saves a trial Running before its process starts, and an ended attempt's record
before the next trial starts.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tradeoff.api.errors import format_validation_error
from tradeoff.api.status import AlgorithmChoice
from tradeoff.api.study import Study
from tradeoff.api.trial import Trial, study_problem, values_problem
from tradeoff.engine.signing import KEY_BYTES, new_key
from tradeoff.local.durable import Flusher
from tradeoff.local.files import (
    MAX_RECORD_BYTES,
    MAX_STUDY_BYTES,
    parse_json,
    read_bounded,
    replace_locked,
    write_atomically,
)
from tradeoff.local.workdir_lock import StoreError, WorkdirBusy, WorkdirLock

__all__ = [
    "FROZEN_FIELDS",
    "FileStore",
    "StoreError",
    "StudyFile",
    "WorkdirBusy",
    "WorkdirLock",
    "default_workdir",
]

FROZEN_FIELDS = ("parameters", "objectives", "algorithm", "warmStart")
"""Spec fields a resumed study must keep: changing them would mix two different searches."""


_MAX_KEY_BYTES = 1024
"""The signing key: 64 hexadecimal digits and a newline."""


@dataclass(frozen=True)
class StudyFile:
    """What ``study.json`` holds."""

    name: str
    spec: dict[str, Any]
    started_at: datetime
    algorithm: AlgorithmChoice | None = None


def default_workdir(study_name: str, cwd: Path | None = None) -> Path:
    """``.tradeoff/<study-name>`` under ``cwd`` (default: the current directory)."""
    return (cwd or Path.cwd()) / ".tradeoff" / study_name


def _spec_wire(study: Study) -> dict[str, Any]:
    return study.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


class FileStore:
    """A study's records in a directory; see the module docstring for the layout."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.study_path = workdir / "study.json"
        self.trials_dir = workdir / "trials"
        self.logs_dir = workdir / "logs"
        self.artifacts_dir = workdir / "artifacts"
        self.scratch_dir = workdir / "attempts"
        self.key_path = workdir / "signing.key"
        self._trials = os.fspath(self.trials_dir) + os.sep  # where save_trial writes
        self._flusher = Flusher()

    def signing_key(self) -> bytes:
        """The workdir's key that signs sampler state on its records (made on first use).

        Records are files anyone with access can edit; sampler state that does not verify
        with this key is never used (see tradeoff.engine.signing).
        """
        try:
            text = read_bounded(self.key_path, _MAX_KEY_BYTES).decode("ascii")
            key = bytes.fromhex(text.strip())
            if len(key) < KEY_BYTES:  # an emptied key would sign with b""
                raise ValueError(f"{len(key)} bytes, not {KEY_BYTES}")
            return key
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"{self.key_path}: not a signing key ({_reason(exc)}); delete it to make a new"
                " one (earlier trials then count without their sampler state)"
            ) from None
        key = new_key()
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:  # e.g. a link to nowhere: not followed
            raise StoreError(
                f"{self.key_path}: cannot make a signing key ({exc.strerror}); delete it"
            ) from None
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(key.hex() + "\n")
        return key

    def lock(self) -> WorkdirLock:
        """Take the workdir's lock (``WorkdirBusy`` if another run holds it)."""
        return WorkdirLock(self.workdir).acquire()

    def open(self, study: Study, now: datetime | None = None) -> StudyFile:
        """Create the workdir for ``study``, or check a resumed one still fits it.

        A resumed study may change its budget (and anything else that does not change
        what is searched), but not its search space, objectives or algorithm.
        """
        try:
            self.trials_dir.mkdir(parents=True, exist_ok=True)
            self.logs_dir.mkdir(parents=True, exist_ok=True)
        except FileExistsError as exc:  # a file, or a link to nowhere, in a folder's place
            raise StoreError(f"{exc.filename}: not a directory; move it away") from None
        except OSError as exc:
            where = self.workdir
            raise StoreError(f"{where}: cannot create the workdir ({exc.strerror})") from None
        spec = _spec_wire(study)
        previous = self.read_study() if self.study_path.exists() else None
        if previous is None and next(self.trials_dir.glob("*.json"), None) is not None:
            # Records are written only after study.json: it was deleted, and with it what
            # the records were searching (a resume must not mix them into another search).
            raise StoreError(
                f"{self.study_path}: missing, but {self.trials_dir} holds trial records;"
                " restore it, or move the records away to start afresh"
            )
        if previous is None:
            started = now or datetime.now(UTC)
        else:
            self._check_resumable(previous, study, spec)
            started = previous.started_at
        algorithm = previous.algorithm if previous is not None else None
        current = StudyFile(study.metadata.name, spec, started, algorithm)
        self._write(current)
        return current

    def record_algorithm(self, algorithm: AlgorithmChoice) -> StudyFile:
        """Record the algorithm the study runs in ``study.json`` (kept on every resume)."""
        current = dataclasses.replace(self.read_study(), algorithm=algorithm)
        self._write(current)
        return current

    def _write(self, current: StudyFile) -> None:
        document: dict[str, Any] = {
            "name": current.name,
            "startedAt": current.started_at.isoformat(),
            "spec": current.spec,
        }
        if current.algorithm is not None:
            document["algorithm"] = current.algorithm.wire()
        text = json.dumps(document, indent=2, sort_keys=True) + "\n"
        try:
            write_atomically(self.study_path, text)
        except OSError as exc:  # e.g. an immutable file (chattr +i), which root cannot write
            raise StoreError(f"{self.study_path}: cannot write ({exc.strerror or exc})") from None

    def _check_resumable(self, previous: StudyFile, study: Study, spec: dict[str, Any]) -> None:
        where = self.study_path
        if previous.name != study.metadata.name:
            raise StoreError(
                f"{where}: holds study {previous.name!r}, not {study.metadata.name!r};"
                " use another --workdir"
            )
        changed = [f for f in FROZEN_FIELDS if previous.spec.get(f) != spec.get(f)]
        if changed:
            raise StoreError(
                f"{where}: the study's {', '.join(changed)} changed since it started;"
                f" restore {'them' if len(changed) > 1 else 'it'} or use a new --workdir"
                " (only the budget may change on resume)"
            )

    def read_study(self) -> StudyFile:
        """The contents of ``study.json``."""
        path = self.study_path
        try:
            document = parse_json(read_bounded(path, MAX_STUDY_BYTES))
            started = datetime.fromisoformat(document["startedAt"])
            if started.tzinfo is None:
                started = started.replace(tzinfo=UTC)
            name, spec = document["name"], document["spec"]
            if not isinstance(name, str) or not isinstance(spec, dict):
                raise TypeError("name must be a string and spec an object")
            recorded = document.get("algorithm")
            algorithm = None if recorded is None else AlgorithmChoice.model_validate(recorded)
        except OSError as exc:
            raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{path}: not a valid study file ({_reason(exc)})") from None
        return StudyFile(name=name, spec=spec, started_at=started, algorithm=algorithm)

    def trial_path(self, name: str) -> Path:
        return self.trials_dir / f"{name}.json"

    def log_path(self, name: str) -> Path:
        return self.logs_dir / f"{name}.log"

    def save_trial(self, record: Trial) -> None:
        """Write one record (atomically; flushed to disk in the background)."""
        text = record.model_dump_json(by_alias=True, exclude_none=True, indent=2) + "\n"
        path = f"{self._trials}{record.metadata.name}.json"  # trial_path, as a string
        try:
            try:
                replace_locked(path, text.encode())
            except FileNotFoundError:  # the folder went (it is made when the study opens)
                write_atomically(Path(path), text, sync=False)
        except OSError as exc:
            raise StoreError(f"{path}: cannot write the record ({exc.strerror or exc})") from None
        self._flusher.add(path)

    def sync(self) -> None:
        """Wait until every record saved so far is on disk."""
        self._flusher.wait()

    def load_trials(self) -> list[Trial]:
        """Every record, by trial number; a corrupt file is a StoreError naming it."""
        if not self.trials_dir.is_dir():
            if self.trials_dir.exists():  # not an empty study: records may be missing
                raise StoreError(f"{self.trials_dir}: not a directory (it holds the records)")
            return []
        records: list[Trial] = []
        seen: dict[int, Path] = {}
        saved = self.read_study() if self.study_path.exists() else None
        for path in sorted(self.trials_dir.glob("*.json")):
            record = self._load_trial(path)
            if saved is not None:
                _check_owner(path, record, saved)
            if record.number in seen:
                raise StoreError(
                    f"{path}: trial number {record.number} is also in {seen[record.number].name}"
                )
            seen[record.number] = path
            records.append(record)
        return sorted(records, key=lambda r: r.number)

    def _load_trial(self, path: Path) -> Trial:
        try:
            record = Trial.model_validate_json(read_bounded(path, MAX_RECORD_BYTES))
        except OSError as exc:
            raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
        except ValidationError as exc:
            raise StoreError(
                f"{path}: not a valid trial record ({_reason(exc, Trial)});"
                " move it away to re-run that trial"
            ) from None
        if record.metadata.name != path.stem:
            raise StoreError(
                f"{path}: holds trial {record.metadata.name!r},"
                f" but the file name says {path.stem!r}"
            )
        return record


def _check_owner(path: Path, record: Trial, saved: StudyFile) -> None:
    problem = study_problem(record, saved.name)
    objectives = saved.spec.get("objectives")
    if problem is None and isinstance(objectives, list):
        problem = values_problem(record, len(objectives))
    if problem is not None:
        raise StoreError(f"{path}: {problem}; move it away")


def _reason(exc: Exception, model: type[BaseModel] | None = None) -> str:
    if isinstance(exc, ValidationError) and model is not None:
        return format_validation_error(exc, model)[0]  # `status.values[0]: must be at most ...`
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        return f"{loc + ': ' if loc else ''}{first['msg']}"
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__

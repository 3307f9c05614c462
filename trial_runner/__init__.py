"""The workload side of the Tradeoff trial contract (standard library only).

A trial reports metrics by printing one line per report on standard output::

    TRADEOFF_METRICS {"accuracy": 0.91, "loss": 0.3}
    TRADEOFF_METRICS {"step": 3, "accuracy": 0.88}

After the prefix comes a JSON object mapping metric names to finite numbers.
Names match ``[A-Za-z_][A-Za-z0-9_.-]*``. The optional integer key ``"step"``
(>= 0) marks the values on that line as intermediate at that step (used for
pruning); a line without it holds final values. The last value of each metric
is its final value. Lines are flushed at once.

When ``TRADEOFF_TERMINATION_LOG`` is set (the container's
``terminationMessagePath`` in Kubernetes), every report also rewrites that file
with the summary ``{"metrics": {name: last value, ...}}``, kept under 4096
bytes by dropping the least recently reported metrics. The operator takes the
summary as authoritative for final values.

The trial's parameters arrive as JSON in ``TRADEOFF_PARAMS``; its study and
trial names in ``TRADEOFF_STUDY`` and ``TRADEOFF_TRIAL``.

``save_artifact(name, path_or_bytes)`` stores a file of the trial's (a fitted model,
held-out predictions) in the folder ``TRADEOFF_ARTIFACTS`` names; Tradeoff records each
file on the trial (name, path, size, SHA-256) when the attempt ends. Local mode sets the
folder (``artifacts/<trial>/`` of the workdir); in a cluster the operator mounts the
artifact volume there when the chart provides one (``artifacts.persistentVolumeClaim``),
and each save prints ``TRADEOFF_ARTIFACT {"name": ..., "size": ..., "sha256": ...}``, the
line the operator records it from. Where the chart sets ``artifacts.s3`` instead, the
operator gives the attempt a folder of a bucket in ``TRADEOFF_ARTIFACTS_S3_URL`` and each
save uploads there (`trial_runner.s3`: needs boto3, imported only then); the line then
also carries the object's ``url``. Where neither is set nothing is stored and stderr says
so once.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import operator
import os
import re
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import SupportsFloat, SupportsIndex, TextIO

__all__ = [
    "ARTIFACT_PREFIX",
    "METRICS_PREFIX",
    "SUMMARY_MAX_BYTES",
    "Reporter",
    "params",
    "report",
    "save_artifact",
    "study_name",
    "trial_name",
]

ARTIFACT_PREFIX = "TRADEOFF_ARTIFACT"
"""The marker of the line ``save_artifact`` prints for each stored file (name, size,
SHA-256: how the operator records it in a cluster)."""

METRICS_PREFIX = "TRADEOFF_METRICS"
"""The marker that starts every metric line (followed by one space and JSON)."""

SUMMARY_MAX_BYTES = 4096
"""Kubernetes' limit on a container's termination message."""

_NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_ENV_PARAMS = "TRADEOFF_PARAMS"
_ENV_TERMINATION_LOG = "TRADEOFF_TERMINATION_LOG"
_ENV_ARTIFACTS = "TRADEOFF_ARTIFACTS"
_ENV_ARTIFACTS_S3 = "TRADEOFF_ARTIFACTS_S3_URL"
_ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}\Z")


def _metric_value(name: str, value: object) -> float | int:
    """``value`` as a finite number (integers stay integers), or a one-line error."""
    if isinstance(value, bool) or type(value).__name__ in {"bool_", "bool"}:
        raise TypeError(f"metric {name!r}: a bool is not a number")
    if isinstance(value, str | bytes) or not (
        isinstance(value, numbers.Real) or hasattr(value, "__float__")
    ):
        raise TypeError(f"metric {name!r}: expected a real number, got {type(value).__name__}")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as error:
        raise TypeError(f"metric {name!r}: cannot convert to a number ({error})") from None
    if not math.isfinite(number):
        raise ValueError(f"metric {name!r}: value must be finite, got {number}")
    return int(value) if isinstance(value, numbers.Integral) else number


def _step_value(step: object) -> int:
    if isinstance(step, bool) or type(step).__name__ == "bool_":
        raise TypeError("step must be an integer, got bool")
    try:
        number = operator.index(step)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"step must be an integer, got {type(step).__name__}") from None
    if number < 0:
        raise ValueError(f"step must be >= 0, got {number}")
    return number


def _encode_summary(latest: Mapping[str, float | int]) -> str:
    """The summary JSON; drops the least recently reported metrics to fit the limit."""
    budget = SUMMARY_MAX_BYTES - len('{"metrics": {}}')
    kept: list[str] = []
    for name in reversed(list(latest)):
        item = f"{json.dumps(name)}: {json.dumps(latest[name])}"  # ASCII: chars are bytes
        cost = len(item) + (2 if kept else 0)
        if cost > budget:
            break
        kept.append(item)
        budget -= cost
    return '{"metrics": {' + ", ".join(reversed(kept)) + "}}"


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``; write in place where a rename is impossible.

    In Kubernetes the termination log is a bind-mounted file, which cannot be
    renamed over (and its directory may not be writable), so the fallback
    rewrites the file itself.
    """
    try:
        handle, temporary = tempfile.mkstemp(prefix=".tradeoff-", dir=path.absolute().parent)
    except OSError:
        path.write_text(text, encoding="utf-8")
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        Path(temporary).replace(path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        path.write_text(text, encoding="utf-8")


class Reporter:
    """Prints metric lines and keeps the termination-log summary up to date.

    ``stream`` defaults to the current ``sys.stdout`` and ``summary_path`` to
    ``$TRADEOFF_TERMINATION_LOG``, both looked up at each report.
    """

    def __init__(self, stream: TextIO | None = None, summary_path: str | None = None) -> None:
        self._stream = stream
        self._summary_path = summary_path
        self._latest: dict[str, float | int] = {}
        self._lock = threading.Lock()
        self._warned = False

    @property
    def latest(self) -> dict[str, float | int]:
        """The last reported value of each metric, least recently reported first."""
        return dict(self._latest)

    def report(self, step: SupportsIndex | None = None, **metrics: SupportsFloat) -> None:
        """Print one metric line; ``step`` marks the values as intermediate."""
        if not metrics:
            raise ValueError("report() needs at least one metric")
        record: dict[str, float | int] = {}
        if step is not None:
            record["step"] = _step_value(step)
        for name, value in metrics.items():
            if not _NAME_PATTERN.match(name):
                raise ValueError(f"metric name {name!r} must match [A-Za-z_][A-Za-z0-9_.-]*")
            record[name] = _metric_value(name, value)
        line = f"{METRICS_PREFIX} {json.dumps(record, separators=(', ', ': '))}\n"
        with self._lock:
            stream = self._stream if self._stream is not None else sys.stdout
            stream.write(line)
            stream.flush()
            for name in metrics:
                self._latest.pop(name, None)
                self._latest[name] = record[name]
            self._write_summary()

    def _write_summary(self) -> None:
        path = self._summary_path or os.environ.get(_ENV_TERMINATION_LOG)
        if not path:
            return
        try:
            _write_atomically(Path(path), _encode_summary(self._latest))
        except OSError as error:
            if not self._warned:
                self._warned = True
                print(f"trial_runner: cannot write summary to {path}: {error}", file=sys.stderr)


_default_reporter = Reporter()


def report(step: SupportsIndex | None = None, **metrics: SupportsFloat) -> None:
    """Report metrics (final ones, or intermediate ones at ``step``).

    Raises ``ValueError``/``TypeError`` for a bad name, a non-finite or
    non-numeric value (bools included) or a bad step.
    """
    _default_reporter.report(step, **metrics)


def params() -> dict[str, object]:
    """The trial's parameters from ``$TRADEOFF_PARAMS`` (``{}`` when unset)."""
    text = os.environ.get(_ENV_PARAMS, "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{_ENV_PARAMS} is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{_ENV_PARAMS} must be a JSON object, got {type(value).__name__}")
    return value


def trial_name() -> str | None:
    """The trial's name from ``$TRADEOFF_TRIAL``, or None outside a trial."""
    return os.environ.get("TRADEOFF_TRIAL") or None


def study_name() -> str | None:
    """The study's name from ``$TRADEOFF_STUDY``, or None outside a trial."""
    return os.environ.get("TRADEOFF_STUDY") or None


_artifact_warned = False


def save_artifact(name: str, content: bytes | str | os.PathLike[str]) -> Path | str | None:
    """Store an artifact of the trial: ``content`` as bytes, or the file a path names.

    ``name`` is a file name (letters, digits, ``_``, ``.``, ``-``; not starting with
    ``.``); saving a name again replaces the file. Returns where it is stored: the file's
    path, or the object's ``s3://`` URL when the trial has a bucket folder
    (``TRADEOFF_ARTIFACTS_S3_URL``); None when it has neither (``TRADEOFF_ARTIFACTS`` unset).
    Raises ``ValueError`` for a bad name, ``OSError`` when it cannot be written and
    ``trial_runner.s3.S3Error`` (one line) when the bucket cannot be used.
    """
    global _artifact_warned
    if not isinstance(name, str) or not _ARTIFACT_NAME.match(name):
        raise ValueError(
            f"artifact name {name!r} must be a file name: letters, digits, _, . or -,"
            " not starting with ., at most 200 characters"
        )
    bucket_folder = os.environ.get(_ENV_ARTIFACTS_S3)
    if bucket_folder:
        from trial_runner import s3

        stored = s3.upload(name, content, bucket_folder)
        line = json.dumps(
            {"name": name, "size": stored.size, "sha256": stored.sha256, "url": stored.url}
        )
        print(f"{ARTIFACT_PREFIX} {line}", flush=True)
        return stored.url
    folder = os.environ.get(_ENV_ARTIFACTS)
    if not folder:
        if not _artifact_warned:
            _artifact_warned = True
            print(
                f"trial_runner: artifact {name!r} not stored: this trial has no artifact"
                f" folder ({_ENV_ARTIFACTS} is unset)",
                file=sys.stderr,
            )
        return None
    target = Path(folder) / name
    handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as file:
            if isinstance(content, bytes | bytearray | memoryview):
                digest.update(content)
                file.write(content)
            else:
                with Path(content).open("rb") as source:
                    while chunk := source.read(1 << 20):
                        digest.update(chunk)
                        file.write(chunk)
            size = file.tell()
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    # In a cluster the operator cannot see the volume: this line is how the file is recorded.
    line = json.dumps({"name": name, "size": size, "sha256": digest.hexdigest()})
    print(f"{ARTIFACT_PREFIX} {line}", flush=True)
    return target

"""A local trial's artifacts: the folder it saves them in, and what it saved.

Each trial saves its files (`trial_runner.save_artifact`) in `artifacts/<trial>/` of the
workdir, which the executor names in `$TRADEOFF_ARTIFACTS` and empties before each attempt
(a trial's artifacts are those of its final attempt). When the attempt ends, the executor
records what it finds there itself (name, path, size and SHA-256, read in chunks), so the
record never rests on what the trial says it wrote.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from tradeoff.api.trial import ARTIFACTS_CAP, Artifact

__all__ = ["MAX_ARTIFACTS", "collect", "fresh_folder", "prepare"]

MAX_ARTIFACTS = ARTIFACTS_CAP

_CHUNK = 1 << 20


def prepare(directory: str | Path) -> None:
    """An empty artifact folder for a new attempt."""
    fresh_folder(directory)


def fresh_folder(directory: str | Path) -> None:
    """``directory`` made empty: created, or emptied if it was there (a retried attempt,
    a resumed run); one ``mkdir`` for the usual new folder."""
    folder = Path(directory)
    try:
        folder.mkdir()
        return
    except FileExistsError:
        shutil.rmtree(folder, ignore_errors=True)
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def collect(directory: str | Path, workdir: Path) -> tuple[list[Artifact], list[str]]:
    """(the regular files in `directory`, by name; problems) with paths relative to `workdir`."""
    try:
        with os.scandir(directory) as listing:
            names = [entry.name for entry in listing]
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    if not names:  # the usual case: the attempt saved nothing
        return [], []
    found: list[Artifact] = []
    problems: list[str] = []
    for path in sorted(Path(directory) / name for name in names):
        if path.name.startswith("."):  # save_artifact's temporary files (no artifact's name)
            continue
        if path.is_symlink() or not path.is_file():
            problems.append(f"artifact {path.name!r} is not a regular file: not recorded")
            continue
        if len(found) == MAX_ARTIFACTS:
            problems.append(f"more than {MAX_ARTIFACTS} artifacts: the rest are not recorded")
            break
        try:
            artifact = Artifact(
                name=path.name,
                path=str(path.relative_to(workdir)),
                size=path.stat().st_size,
                sha256=_sha256(path),
            )
        except OSError as exc:
            problems.append(f"artifact {path.name!r} cannot be read: {exc.strerror or exc}")
            continue
        found.append(artifact)
    return found, problems

"""Reading a recorded artifact back, as its record says it was saved (no trust in the file).

Shared by local mode's Ensemble trial (files under the workdir) and the ensemble pod in a
cluster (files on the artifact claim): the path must stay under the root, the size within
a limit, and the content must have the recorded SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from tradeoff.api.trial import Artifact

__all__ = ["MAX_BYTES", "read_checked"]

MAX_BYTES = 64 << 20
"""A file larger than this is not read (a trial's output is untrusted)."""


def read_checked(root: Path, artifact: Artifact, owner: str) -> bytes | str:
    """The content of `artifact` (its path relative to `root`), or one line saying why it
    cannot be used, naming `owner` (the trial)."""
    path = (root / artifact.path).resolve()
    if Path(artifact.path).is_absolute() or not path.is_relative_to(root.resolve()):
        return f"{owner}: its artifact path leaves the artifact folder"
    if artifact.size > MAX_BYTES:
        return f"{owner}: {artifact.name} is over {MAX_BYTES >> 20} MiB"
    try:
        # not blocking: a FIFO in the artifact's place would wait for a writer forever
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return f"{owner}: {artifact.path} is not a regular file"
            content = file.read(MAX_BYTES + 1)
    except OSError as exc:
        return f"{owner}: cannot read {artifact.path}: {exc.strerror or exc}"
    if hashlib.sha256(content).hexdigest() != artifact.sha256:
        return f"{owner}: {artifact.path} changed since the trial saved it"
    return content

"""Command-line arguments that name files: refused at parse time (exit 2, one line
naming the option) when no file system could hold them, instead of an ``OSError`` from
deep inside the command."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["NAME_MAX", "PATH_MAX", "output_argument", "path_argument", "path_problem", "path_text"]

NAME_MAX = 255
"""Bytes in one name of a path (Linux's ``NAME_MAX`` on every common file system)."""
PATH_MAX = 4096
"""Bytes in a whole path, its terminating NUL included (Linux's ``PATH_MAX``)."""


def path_problem(text: str) -> str | None:
    """Why ``text`` cannot name a file, or None."""
    if "\0" in text:
        return "a path cannot contain a NUL byte"
    raw = os.fsencode(text)
    if len(raw) >= PATH_MAX:
        return f"a path of {len(raw):,} bytes is too long (at most {PATH_MAX - 1:,})"
    longest = max(raw.split(b"/"), key=len)
    if len(longest) > NAME_MAX:
        return f"a name of {len(longest):,} bytes in the path is too long (at most {NAME_MAX})"
    return None


def path_text(text: str) -> str:
    """An argparse ``type``: ``text`` as given, if it can name a file."""
    problem = path_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def path_argument(text: str) -> Path:
    """An argparse ``type``: the ``Path`` of ``text``, if it can name a file."""
    return Path(path_text(text))


def output_argument(text: str) -> Path | None:
    """An argparse ``type`` for ``-o``: ``-`` is standard output (None, as when the option
    is not given), anything else a path that can name a file."""
    return None if text == "-" else path_argument(text)

"""What a trial prints, read with bounded memory, and shown back safely.

Both executors (pods in the operator, subprocesses in local mode) read a trial's output as
a stream of byte chunks. `LineReader` splits it into text lines while holding at most
`MAX_LINE_BYTES` of any one line: the rest of a longer line is counted and dropped, so a
trial that prints 50 MB without a newline costs 64 KiB. `excerpt` turns output that
reaches a Trial's message or an Event into a short, printable line.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = [
    "EXCERPT_CHARS",
    "MAX_LINE_BYTES",
    "TERMINATION_MESSAGE_BYTES",
    "Line",
    "LineReader",
    "excerpt",
    "last_line",
]

MAX_LINE_BYTES = 64 * 1024
"""Bytes of one output line that are kept; the rest of a longer line is dropped."""
TERMINATION_MESSAGE_BYTES = 4096
"""Kubernetes' limit on a container's termination message; local mode reads as much."""
EXCERPT_CHARS = 300
"""Characters of trial output that a message or an Event may quote."""

# ANSI/VT escape sequences: CSI (colours, cursor moves), OSC (titles, hyperlinks), and
# two-character escapes. Removed whole, so no stray "[31m" is left behind.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, ended by BEL or ST (or cut off)
    r"|\x1b[@-Z\\-_]"  # two-character escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_SPACES = re.compile(r"\s+")


class Line(NamedTuple):
    """One output line (without its newline) and how many of its bytes were dropped."""

    text: str
    dropped: int = 0


class LineReader:
    """Splits byte chunks into lines, holding at most `limit` bytes of one line."""

    def __init__(self, limit: int = MAX_LINE_BYTES) -> None:
        self.limit = limit
        self._line = bytearray()
        self._dropped = 0

    @property
    def buffered(self) -> int:
        """Bytes of the unfinished line held now (at most `limit`)."""
        return len(self._line)

    def feed(self, chunk: bytes) -> list[Line]:
        """The lines that `chunk` completes."""
        lines: list[Line] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            self._keep(chunk, start, len(chunk) if end < 0 else end)
            if end < 0:
                return lines
            lines.append(self._take())
            start = end + 1

    def end(self) -> list[Line]:
        """The last line, if the stream ended without a newline."""
        return [self._take()] if self._line or self._dropped else []

    def _keep(self, chunk: bytes, start: int, end: int) -> None:
        room = max(0, self.limit - len(self._line))
        stop = min(end, start + room)
        self._line += chunk[start:stop]
        self._dropped += end - stop

    def _take(self) -> Line:
        line = Line(self._line.decode("utf-8", "replace"), self._dropped)
        self._line = bytearray()
        self._dropped = 0
        return line


def _printable(char: str) -> bool:
    # Cc: C0/C1 controls (tabs and newlines become spaces before this); Cf: format
    # characters such as bidirectional overrides, which reorder what a terminal shows.
    return unicodedata.category(char) not in ("Cc", "Cf")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` as one printable line of at most `limit` characters.

    Escape sequences and control characters are removed, runs of white space become one
    space, and a longer text is cut (ending in "...").
    """
    text = _ESCAPES.sub("", text[: limit * 8])  # only the start can survive: look no further
    text = _SPACES.sub(" ", text)
    text = "".join(c for c in text if _printable(c)).strip()
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


def last_line(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The excerpt of the last line of `text` that has something printable on it."""
    end = len(text)
    while end > 0:
        start = text.rfind("\n", 0, end) + 1
        shown = excerpt(text[start : min(end, start + limit * 8)], limit)
        if shown:
            return shown
        end = start - 1
    return ""

"""Result commands: show, export, best, list, compare and report a local or cluster study.

`source` reads a study from a local workdir (`cluster` from a cluster); each command
module (`show`, `export`, `best`, `listing`, `compare`, `report`) is a `tradeoff`
sub-command. All figures come from the engine.
"""

from __future__ import annotations

from tradeoff.results.source import SourceError, StudyView, local_view, workdir_of

__all__ = ["SourceError", "StudyView", "local_view", "workdir_of"]

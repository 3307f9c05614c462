"""What `tradeoff run` checks before anything starts, each answer one line naming the flag.

The flags (`--region`, `--metrics-port`), the trial command (a program that can run as a
local process), the workdir and the report paths (a folder where one must be, writable),
and the `--intensity-config` file (read capped, parsed into the operator's intensity
settings). Each check returns why it fails, or None (`intensity_settings` raises
`IntensitySettingsError` with it); `tradeoff run` prints it and exits 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tradeoff.api.load import read_capped
from tradeoff.api.study import Study
from tradeoff.economics import (
    REGION_GRAMS_PER_KWH,
    IntensitySettings,
    IntensitySettingsError,
    intensity_from_json,
)
from tradeoff.local.events import command_line
from tradeoff.local.files import MAX_SETTINGS_BYTES, parse_json

__all__ = [
    "command_problem",
    "flag_problem",
    "intensity_settings",
    "report_problem",
    "workdir_problem",
]


def workdir_problem(path: Path, flag: str) -> str | None:
    """Why ``path`` cannot be the workdir (the report's check would name the report)."""
    folder = path
    while not folder.is_dir() and folder != folder.parent:
        if folder.exists() or folder.is_symlink():
            return f"{flag}: {folder} is not a directory"
        folder = folder.parent
    return None


def report_problem(path: Path, flag: str) -> str | None:
    """Why the report cannot be written to ``path`` (checked before the study starts)."""
    if path.is_dir():
        return f"{flag}: {path} is a directory; give a file name, e.g. {path / 'report.html'}"
    folder = path.absolute().parent
    while not folder.exists():  # missing folders are created when the report is written
        folder = folder.parent
    if not folder.is_dir():
        return f"{flag}: {folder} is not a directory"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{flag}: cannot write in {folder} (permission denied)"
    return None


def flag_problem(args: argparse.Namespace) -> str | None:
    """Why `--region` or `--metrics-port` is wrong, if one is."""
    if args.region and args.region.lower() not in REGION_GRAMS_PER_KWH:
        known = ", ".join(sorted(REGION_GRAMS_PER_KWH)[:6])
        return f"--region: unknown region {args.region!r} (known: {known}, ...)"
    port = args.metrics_port
    if port is not None and not 1 <= port <= 65535:
        return f"--metrics-port: {port} is not a TCP port (1..65535)"
    return None


def command_problem(study: Study) -> str | None:
    """Why the trial command cannot run locally (checked before anything starts)."""
    template = study.spec.trial_template
    if template.workload is not None:
        print(
            f"tradeoff run: warning: spec.trialTemplate.workload: only the primary container"
            f" of the {template.workload.kind} runs here (its other pods and replicas run in"
            " a cluster)",
            file=sys.stderr,
        )
    index = template.primary_index()
    container = template.primary_pod["containers"][index]
    if "${" in str((container.get("command") or [""])[0]):
        return None  # the program depends on the parameters: checked per trial
    try:
        command_line(container)
    except ValueError as exc:
        return f"spec.trialTemplate.pod.containers[{index}]: {exc}"
    return None


def intensity_settings(path: Path | None) -> IntensitySettings | None:
    """``--intensity-config FILE``: the intensity section of the operator's economics file."""
    if path is None:
        return None
    where = f"--intensity-config {path}"
    try:
        data = parse_json(read_capped(path, MAX_SETTINGS_BYTES))
    except OSError as exc:
        raise IntensitySettingsError(f"{where}: cannot read ({exc.strerror})") from None
    except ValueError as exc:
        raise IntensitySettingsError(f"{where}: not valid JSON ({exc})") from None
    found = intensity_from_json(data, where, os.environ)
    if found is None:
        raise IntensitySettingsError(f"{where}: intensity.provider: name the service")
    return found

"""`tradeoff run STUDY.yaml`: run a study on this machine, trials as local processes.

Exit codes: 0 the study Succeeded, 1 it Failed, 2 bad input (manifest, flags, workdir),
130 interrupted by Ctrl-C (143 by SIGTERM); rerunning the same command resumes. The
checks made before anything starts are in `run_checks`.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import signal
import sys
from pathlib import Path
from types import FrameType

from rich.console import Console

from tradeoff.api.errors import ManifestError
from tradeoff.api.study import Study
from tradeoff.arguments import path_argument, path_text
from tradeoff.economics import IntensitySettings, IntensitySettingsError
from tradeoff.local.display import RichDisplay, RunDisplay
from tradeoff.local.report import write_report
from tradeoff.local.result_tables import show_result
from tradeoff.local.run_checks import (
    command_problem,
    flag_problem,
    intensity_settings,
    report_problem,
    workdir_problem,
)
from tradeoff.local.run_result import RunResult
from tradeoff.local.runner import StudyRunner
from tradeoff.local.store import FileStore, StoreError, default_workdir
from tradeoff.observe import StudyObserver
from tradeoff.validate import load_study

__all__ = ["add_arguments", "main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", metavar="STUDY.yaml", type=path_text, help="the Study manifest")
    parser.add_argument(
        "--workdir",
        type=path_argument,
        metavar="DIR",
        help="where the trial records live (default: .tradeoff/<study-name>)",
    )
    parser.add_argument(
        "--region",
        help="cloud region whose grid carbon intensity to use, e.g. eu-north-1",
    )
    parser.add_argument(
        "--intensity-config",
        type=path_argument,
        metavar="FILE",
        help="JSON settings of a carbon-intensity service (the operator's economics.intensity)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics on 127.0.0.1:PORT while the study runs",
    )
    parser.add_argument("--report", type=path_argument, metavar="PATH", help="HTML report path")
    parser.add_argument(
        "--insights",
        action="store_true",
        help="compute the insights as the study runs, as the operator does (printed when"
        " first found, kept in the workdir's status.json), and add them and the parameter"
        " importance (fANOVA) to the report (about a second of CPU per milestone;"
        " --metrics-port computes them too; `tradeoff report` always adds them)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no live progress bar")
    parser.add_argument(
        "--quiet", action="store_true", help="print only warnings, errors and the outcome"
    )


def _bad(message: str) -> int:
    print(f"tradeoff run: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _observer(port: int | None) -> StudyObserver | None:
    if port is None:
        return None
    from prometheus_client import start_http_server

    try:
        metrics = importlib.import_module("tradeoff.metrics")
    except ImportError:
        metrics = None
    start_http_server(port, addr="127.0.0.1")
    if metrics is None:
        return None
    observer: StudyObserver = metrics.PrometheusObserver()
    return observer


def main(args: argparse.Namespace) -> int:
    try:
        study = load_study(args.study)
    except ManifestError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    problem = flag_problem(args) or command_problem(study)
    if problem:
        return _bad(problem)
    try:
        intensity = intensity_settings(args.intensity_config)
    except IntensitySettingsError as exc:
        return _bad(str(exc))
    workdir: Path = args.workdir or default_workdir(study.metadata.name)
    report: Path = args.report or workdir / "report.html"
    problem = workdir_problem(workdir, "--workdir" if args.workdir else "workdir")
    problem = problem or report_problem(report, "--report" if args.report else "report")
    if problem:
        return _bad(problem)
    store = FileStore(workdir)
    try:
        lock = store.lock()
    except StoreError as exc:
        return _bad(str(exc))
    try:
        return _run(args, study, store, report, intensity)
    finally:
        lock.release()


def _carbon_poll(intensity: IntensitySettings | None) -> float:
    """Seconds between readings of the grid while trials wait: ``pollSeconds`` of the
    intensity settings, or ``TRADEOFF_CARBON_POLL`` (tests)."""
    default = intensity.poll if intensity is not None else 60.0
    try:
        poll = float(os.environ.get("TRADEOFF_CARBON_POLL") or default)
    except ValueError:
        poll = default
    return poll if poll > 0 else default


def _run(
    args: argparse.Namespace,
    study: Study,
    store: FileStore,
    report: Path,
    intensity: IntensitySettings | None,
) -> int:
    """Run the study holding the workdir lock; show the outcome and write the report."""
    name, workdir = study.metadata.name, store.workdir
    try:
        observer = _observer(args.metrics_port)
    except OSError as exc:
        return _bad(f"--metrics-port: cannot listen on 127.0.0.1:{args.metrics_port} ({exc})")
    err = Console(stderr=True)
    display: RunDisplay = RichDisplay(
        err, bar=not (args.quiet or args.no_progress), trial_lines=not args.quiet
    )
    runner = StudyRunner(
        study,
        store,
        region=args.region,
        intensity=intensity,
        carbon_poll=_carbon_poll(intensity),
        observer=observer,
        display=display,
        live_insights=args.insights or args.metrics_port is not None,
    )
    try:
        leftovers = runner.executor.stop_leftovers()
    except StoreError as exc:
        return _bad(str(exc))
    if leftovers:
        which = ", ".join(f"{c.trial} (pid {c.pid})" for c in leftovers)
        print(
            f"warning: stopped {len(leftovers)} trial process(es) left running by a killed"
            f" run: {which}",
            file=sys.stderr,
        )
    signals: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signals.append(signum)
        runner.interrupt()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = runner.run()
    except StoreError as exc:
        return _bad(str(exc))
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    headline = _headline(name, result)
    written = _write_report(report, study, result, headline, workdir, analyse=args.insights)
    out = Console()
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out = Console(width=120)  # logs and pipes: room for the front table
    if args.quiet:
        out.print(headline, highlight=False)
    else:
        show_result(
            out,
            study.spec,
            result.records,
            result.summary,
            headline,
            result.algorithm,
            result.priors,
            result.warm_line,
        )
        shown = f"Report: {report}   " if written else ""
        out.print(f"{shown}Records: {workdir}", highlight=False)
    if result.interrupted:
        again = ["tradeoff", "run", args.study]
        if args.workdir:
            again += ["--workdir", str(args.workdir)]
        print(f"Resume with: {shlex.join(again)}", file=sys.stderr)
        return 128 + (signals[0] if signals else signal.SIGINT)
    return EXIT_OK if result.state == "Succeeded" else EXIT_FAILED


def _write_report(
    path: Path, study: Study, result: RunResult, headline: str, workdir: Path, *, analyse: bool
) -> bool:
    """Write the report; on failure say so in one line (the records stay in the workdir)."""
    try:
        write_report(
            path,
            study.metadata.name,
            study.spec,
            result.records,
            result.summary,
            headline,
            result.algorithm,
            result.warm_line,
            analyse=analyse,
        )
    except OSError as exc:
        why = exc.strerror or str(exc)
        print(
            f"tradeoff run: cannot write the report to {path} ({why}); the study's records"
            f" are kept in {workdir}: rerun with another --report to write it",
            file=sys.stderr,
        )
        return False
    return True


def _headline(name: str, result: RunResult) -> str:
    if result.interrupted:
        return f"Study {name} interrupted: {result.message}"
    return f"Study {name} {result.state} ({result.reason}): {result.message}"

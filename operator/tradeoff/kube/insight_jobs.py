"""A Study's insights computed in a short-lived child process, off the study's pass.

A pass that finds insights due (`refresh_insights`) starts one child (`insight_child`)
for the Study, unless one runs, and keeps the insights its status holds; when the child
is done, the Study is passed again and that pass records them (with the count of
finished trials they were computed from, so a restarted operator computes nothing
twice). The operator never imports SciPy or scikit-learn, and a study costs one child
at a time. A child that fails or takes longer than `TIMEOUT` is logged, and the Study's
insights wait `RETRY_AFTER` seconds before another is started.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from tradeoff.api.status import Insight
from tradeoff.api.study import StudySpec
from tradeoff.api.trial import Trial
from tradeoff.engine.insight_status import InsightSource, record_json

Key = tuple[str, str]
log = logging.getLogger("tradeoff.operator")
TIMEOUT = 300.0
RETRY_AFTER = 60.0
CHILD = [sys.executable, "-m", "tradeoff.kube.insight_child"]


class InsightJobs:
    """At most one insight child per Study; `done(key)` once its result is ready."""

    def __init__(self, done: Callable[[Key], object], command: Sequence[str] = CHILD) -> None:
        self._done = done
        self._command = list(command)
        self._guard = threading.Lock()
        self._running: set[Key] = set()
        self._ready: dict[Key, tuple[int, list[Insight]]] = {}
        self._failed: dict[Key, float] = {}

    def source(self, key: Key) -> InsightSource:
        """The insights of Study `key` when a child computed them, else None (and a child
        is started if none runs)."""

        def get(
            spec: StudySpec, records: Sequence[Trial], finished: int
        ) -> tuple[int, list[Insight]] | None:
            with self._guard:
                ready = self._ready.pop(key, None)
                if ready is not None:
                    return ready
                failed = self._failed.get(key)
                if key in self._running or (failed and time.monotonic() - failed < RETRY_AFTER):
                    return None
                self._running.add(key)
            thread = threading.Thread(
                target=self._run,
                args=(key, spec, list(records), finished),
                name="insights",
                daemon=True,
            )
            thread.start()
            return None

        return get

    def forget(self, key: Key) -> None:
        with self._guard:
            self._ready.pop(key, None)
            self._failed.pop(key, None)

    def _run(self, key: Key, spec: StudySpec, records: list[Trial], finished: int) -> None:
        try:
            found = self._compute(spec, records)
        except (OSError, subprocess.SubprocessError, ValueError, ValidationError) as error:
            first = str(error).splitlines()[0] if str(error) else error.__class__.__name__
            log.warning("%s/%s: insights not computed: %s", *key, first[:300])
            with self._guard:
                self._running.discard(key)
                self._failed[key] = time.monotonic()
            return
        with self._guard:
            self._running.discard(key)
            self._failed.pop(key, None)
            self._ready[key] = (finished, found)
        self._done(key)

    def _compute(self, spec: StudySpec, records: Sequence[Trial]) -> list[Insight]:
        """Run the child; the records are written one by one (never one large string:
        10,000 records would be 30 MB held at once, and the RSS would keep it)."""
        with subprocess.Popen(
            self._command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as child:
            assert child.stdin is not None
            try:
                child.stdin.write('{"spec": ' + json.dumps(spec.wire()) + ', "records": [')
                for i, record in enumerate(records):
                    child.stdin.write(("," if i else "") + record_json(record))
                child.stdin.write("]}")
            except BrokenPipeError:
                pass  # the child failed early: its exit says why
            try:
                out, err = child.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                child.kill()
                child.communicate()
                raise
        if child.returncode != 0:
            said = (err.strip().splitlines() or ["no output"])[-1]
            raise ValueError(f"the insight child exited {child.returncode}: {said}")
        return [Insight.model_validate(i) for i in json.loads(out)]

"""Starting a trial's attempt as a local process and pricing it when it ends: the pod
rendered from the template, energy metering around it, its economics at the end.

A trial's ``economics`` sum every attempt that ran (failed, interrupted and retried ones
cost money too); its ``cost``/``carbon``/``energy`` objectives are those of the attempt
that produced its metrics (the final one), as in the operator.
"""

from __future__ import annotations

import functools
import queue
from typing import Any

from tradeoff.api.economics import TrialEconomics
from tradeoff.api.study import StudySpec
from tradeoff.api.template import render_pod_spec
from tradeoff.api.trial import Trial
from tradeoff.economics import (
    EconomicsConfig,
    IntensitySettings,
    IntensitySource,
    NodeInfo,
    Resources,
    config_for_node,
    read_intensity,
    resources_from_pod_spec,
    study_fixes_intensity,
)
from tradeoff.local.energy import EnergyMeter
from tradeoff.local.events import AttemptResult, Event
from tradeoff.local.executor import LocalExecutor
from tradeoff.local.outcome import IntensityReader, price_attempt


class TrialProcesses:
    """Runs attempts through the executor and prices each one that ran."""

    def __init__(
        self,
        spec: StudySpec,
        study: str,
        executor: LocalExecutor,
        events: queue.SimpleQueue[Event],
        energy: EnergyMeter,
        *,
        region: str | None,
        intensity: IntensitySettings | None,
        intensity_source: IntensitySource | None,
    ) -> None:
        self.spec = spec
        self.study = study
        self.executor = executor
        self.events = events
        self.energy = energy
        self.economics = config_for_node(
            EconomicsConfig.default(), NodeInfo(region=region), spec.economics
        )
        self.region = region
        self.intensity = intensity
        self.intensity_source = intensity_source
        self._resources: dict[str, Resources] = {}  # what each running attempt requested

    def render(self, record: Trial) -> dict[str, Any]:
        """The trial's pod spec: the template with its parameters filled in."""
        return render_pod_spec(
            self.spec.trial_template,
            record.spec.parameters,
            study=self.study,
            trial=record.metadata.name,
            number=record.number,
        )

    def start(self, trial: str, attempt: int, pod: dict[str, Any]) -> None:
        """Start the attempt's process; a pod whose resources are invalid ends at once."""
        try:
            resources = resources_from_pod_spec(pod)
        except ValueError as exc:
            self.events.put(AttemptResult(trial, attempt, None, 0.0, 0.0, {}, start_error=str(exc)))
            return
        pod = self.energy.begin(trial, attempt, pod, self.spec.trial_template.primary_index())
        self._resources[trial] = resources
        self.executor.start(trial, attempt, pod)

    def finish(self, result: AttemptResult) -> TrialEconomics | None:
        """Forget the ended attempt; its economics if it ran."""
        self.executor.finished(result.trial)
        resources = self._resources.pop(result.trial, None)
        if result.start_error is not None or resources is None:
            self.energy.release(result.trial)
            return None
        measured = self.energy.end(result.trial, result.cpu_seconds)
        reader = self._reader()
        return price_attempt(resources, result, self.economics, self.region, reader, measured)

    def _reader(self) -> IntensityReader | None:
        """Reads the intensity over an attempt's run, unless the study fixed it."""
        if self.intensity_source is None or study_fixes_intensity(self.spec.economics):
            return None
        return functools.partial(read_intensity, self.intensity_source, self.intensity)

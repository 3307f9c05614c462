"""The operator's settings as one frozen dataclass, and the error bad settings raise."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from tradeoff.api.policy import TrialPolicy
from tradeoff.economics import EconomicsConfig, IntensitySettings, IntensitySource, build_source
from tradeoff.kube.artifact_storage import ArtifactBucket, ArtifactStore

LogFormat = Literal["text", "json"]
LOCAL_ADDRESS = "127.0.0.1"
"""Where metrics and health listen unless told otherwise: this machine only."""


class SettingsError(ValueError):
    """A setting is invalid; the message is one line naming it."""


def start_priority() -> int:
    """The default peering priority: the start time in milliseconds, so the replica that
    started last acts. A restarted operator never waits for the entry its dead predecessor
    left in the peering object (kopf keeps it for a minute)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Settings:
    """Everything the operator needs to know besides the cluster's objects."""

    namespaces: tuple[str, ...] = ()
    all_namespaces: bool = False
    log_format: LogFormat = "text"
    verbose: bool = False
    health_port: int | None = None
    health_address: str = LOCAL_ADDRESS
    metrics_port: int | None = None
    metrics_address: str = LOCAL_ADDRESS
    economics: EconomicsConfig = field(default_factory=EconomicsConfig.default)
    intensity: IntensitySettings | None = None
    """The carbon-intensity service (``economics.intensity``), if one is configured."""
    carbon_poll: float = 60.0
    """Seconds between readings of the grid while a trial is deferred for carbon
    (``economics.intensity.pollSeconds``; ``TRADEOFF_CARBON_POLL`` overrides it)."""
    prometheus_url: str | None = None
    """Prometheus with Kepler's and OpenCost's series: measured energy and prices."""
    prometheus_timeout: float = 5.0
    prometheus_settle: float = 2.0
    """Seconds after a run's end before it is measured: a scrape in flight is stored."""
    peering: str | None = "tradeoff"
    priority: int = field(default_factory=start_priority)
    reconcile_interval: float = 10.0
    status_interval: float = 1.0
    max_workers: int = 256
    """Threads for kopf's handlers (a Study's pass runs in one)."""
    trial_workers: int = 8
    """Threads that step the trials' drivers when their events wake them
    (``TRADEOFF_TRIAL_WORKERS``): a step waits on the API only, never on a pod."""
    pending_timeout: float = 300.0
    """Seconds a pod may keep failing to pull its image before its attempt fails."""
    delete_ended_pods: bool = False
    """Delete a trial's pods once its end is recorded (``TRADEOFF_DELETE_ENDED_PODS``):
    a large study then leaves no pod per trial for the API server to keep and a restarted
    operator to list, but `kubectl logs` of a finished trial finds nothing."""
    trial_policy: TrialPolicy = field(default_factory=TrialPolicy)
    """What trial pods may ask for: a Pod Security Standard level and ServiceAccounts."""
    workload_resources: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(apiVersion, kind) -> resource (plural) of each workload kind trials may be."""
    crash_at: Mapping[str, int] = field(default_factory=dict)
    """Test-only crash points: point -> the how-many-th time reaching it exits (from 1)."""
    signing_key_secret: str = "tradeoff-signing-key"
    """Secret holding the key that signs sampler state on Trials (created if missing)."""
    own_namespace: str | None = None
    """The operator's namespace (POD_NAMESPACE), where the signing-key Secret lives."""
    operator_image: str = "tradeoff:latest"
    """The operator's own image (``TRADEOFF_OPERATOR_IMAGE``): Ensemble trials run in it."""
    artifacts_claim: str | None = None
    """PersistentVolumeClaim (in each trial's namespace) mounted into trial pods for
    `trial_runner.save_artifact` (``TRADEOFF_ARTIFACTS_CLAIM``); None: no artifacts."""
    artifacts_bucket: ArtifactBucket | None = None
    """The bucket trial pods upload artifacts to instead (``TRADEOFF_ARTIFACTS_S3_*``)."""

    @property
    def artifact_store(self) -> ArtifactStore | None:
        """The claim or the bucket trial artifacts go to, if any."""
        return self.artifacts_claim or self.artifacts_bucket

    @property
    def key_namespace(self) -> str:
        """Where the signing key lives: the operator's namespace, else the first watched."""
        return self.own_namespace or (self.namespaces[0] if self.namespaces else "default")

    @property
    def intensity_source(self) -> IntensitySource | None:
        return build_source(self.intensity) if self.intensity is not None else None

    @property
    def standalone(self) -> bool:
        return self.peering is None

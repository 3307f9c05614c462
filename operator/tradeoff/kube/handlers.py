"""The kopf handlers: thin, level-based entry points into the reconcilers.

Studies are reconciled on create, resume and spec updates, and on a timer, from the
Study as the API holds it and its Trials as the operator's informers keep them (`cache`,
`feeds`: Trials and pods are not watched by kopf). Each unfinished Trial has a driver
that takes its pod to an end, stepped on a bounded pool when its Trial's, its pods', its
workload's or its Study's events wake it (`drivers`): no thread each. The workloads
are watched for each kind the admin allows (the settings' `workload_resources`), only
those labelled with a study.
Handlers are registered on an explicit registry so the interval and the shared context
come from the operator's settings.

A handler that fails is retried by kopf after `retry_delay`: half a second, doubling
with each failure in a row up to `MAX_RETRY_DELAY`, and never sooner than the server's
`Retry-After`. Each pass reads everything afresh, so retrying one is always safe.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from tradeoff.api.study import GROUP, VERSION
from tradeoff.api.trial import STUDY_LABEL, TRIAL_LABEL
from tradeoff.kube.context import Context
from tradeoff.kube.drivers import MAX_RETRY_DELAY, TrialDrivers, retry_delay
from tradeoff.kube.ended_pods import EndedPods
from tradeoff.kube.feeds import Feeds, PeeringGate
from tradeoff.kube.feeds import start as start_informers
from tradeoff.kube.feeds import stop as stop_informers
from tradeoff.kube.informer import ERROR_BACKOFFS
from tradeoff.kube.insight_jobs import InsightJobs
from tradeoff.kube.listwatch import LIST_PAGE, Sources
from tradeoff.kube.studies import reconcile_study

STUDIES = (GROUP, VERSION, "studies")
ANNOTATION_PREFIX = "tradeoff.dev"
__all__ = ["MAX_RETRY_DELAY", "TIMER_TICK", "operator_settings", "register", "retry_delay"]
TIMER_TICK = 1.0
"""Seconds between the study timer's looks at an open Study: it passes when a pass is
due (`Context.due`), so a request a failed pass left is served within about this."""
log = logging.getLogger("tradeoff.operator")


def retry_later(error: Exception, retry: int) -> kopf.TemporaryError:
    """The error that has kopf run a failed handler again after `retry_delay`.

    API and connection errors are expected now and then and said in one line (by kopf);
    anything else is a bug, logged with its traceback too.
    """
    delay = retry_delay(retry, error)
    if not isinstance(error, ApiException | HTTPError | OSError):
        log.error("unexpected error; retrying in %.1f s", delay, exc_info=error)
    text = str(error).splitlines()[0] if str(error) else error.__class__.__name__
    return kopf.TemporaryError(text[:300], delay=delay)


class StudyDiffBase(kopf.AnnotationsDiffBaseStorage):
    """kopf's last-handled configuration, of Studies only: Trials and Pods have no
    handler that reacts to changes (only `on.event`), yet kopf would copy each of their
    bodies at every event to compare it (a tenth of the operator's CPU at 2,000 trials)."""

    def build(self, *, body: Any, extra_fields: Any = None) -> Any:
        if body.get("kind") != "Study":
            return {}
        return super().build(body=body, extra_fields=extra_fields)

    def fetch(self, *, body: Any) -> Any:
        return super().fetch(body=body) if body.get("kind") == "Study" else None


def operator_settings(ctx: Context) -> kopf.OperatorSettings:
    """kopf settings: progress kept in annotations (the status belongs to the API)."""
    settings = kopf.OperatorSettings()
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = StudyDiffBase(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{ANNOTATION_PREFIX}/operator"
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = ctx.settings.max_workers
    settings.peering.priority = ctx.settings.priority
    settings.watching.server_timeout = 300
    # kopf's initial listings (at every start) a page at a time: a restart on a study of
    # 10,000 Trials held the whole list's text and objects at once (75 MiB of RSS).
    settings.watching.chunk_size = LIST_PAGE  # kopf's listings (Studies, workloads) too
    settings.networking.request_timeout = 60
    # kopf's own requests (watches, its patches, peering): retried on 5xx/429 and
    # connection errors after these delays; kopf's default starts at 1 s, and gives up
    # after about as long (54 s) as these do.
    settings.networking.error_backoffs = ERROR_BACKOFFS  # as the informers' (`informer`)
    # Workloads are watched only if they carry the study and trial labels (the handlers'
    # own filters), asked of the API server: the other objects of the namespaces, which
    # kopf would list and keep a memory of each, never reach the operator.
    for (api_version, _kind), plural in ctx.settings.workload_resources.items():
        group, _, version = api_version.rpartition("/")
        settings.watching.label_selectors[group, version, plural] = f"{STUDY_LABEL},{TRIAL_LABEL}"
    return settings


def _open(status: Any, meta: Any, **_: Any) -> bool:
    """A Study that may have work to do: not finished or invalid at its current spec.

    The timer leaves the others alone (they cost nothing); an edit of the spec makes a
    new generation, which opens the Study again (and its update handler passes at once).
    """
    status = status or {}
    ended = status.get("state") in ("Succeeded", "Failed")
    return not (ended and status.get("observedGeneration") == (meta or {}).get("generation"))


def register(
    registry: kopf.OperatorRegistry, ctx: Context, *, peering: bool, begun: Sources | None = None
) -> TrialDrivers:
    """Register every handler of the operator on `registry` (`peering`: kopf's peering is
    on, so the operator starts paused; `begun`: the informers' sources whose listings
    began already); returns the trials' drivers (closed when the operator stops)."""

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> Any:
        return kopf.login_via_client(**kwargs)

    # What passes and drivers read, kept from the watches (`cache.Store`, `podwatch`):
    # quick, so run in kopf's loop rather than a thread each.
    ctx.watching = True
    drivers = TrialDrivers(ctx, ctx.settings.trial_workers)
    ctx.drive = drivers.ensure
    ctx.insight_jobs = InsightJobs(lambda key: insights_ready(*key))
    gates: list[PeeringGate] = []  # the informers' (`informers_start`)

    def insights_ready(namespace: str, name: str) -> None:
        """A child computed a Study's insights: the next pass records them (now, unless
        another replica acts: then kopf's timer passes it when this one resumes)."""
        if any(gate.paused for gate in gates):
            return
        try:
            reconcile_study(ctx, namespace, name)
        except Exception as error:  # the request stays: the study timer serves it
            ctx.observer.reconcile_error("study")
            first = str(error).splitlines()[0] if str(error) else error.__class__.__name__
            log.warning("%s/%s: pass failed: %s", namespace, name, first[:300])

    # Trials and the study-labelled pods: the operator's own informers (`feeds`), started
    # before kopf's watches, so the first pass waits only for their first listings.
    feeds = Feeds(ctx, drivers, EndedPods() if ctx.settings.delete_ended_pods else None, begun)
    informers = feeds.informers()

    @kopf.on.startup(id="informers-start", registry=registry)
    def informers_start(**_: Any) -> None:
        gates.append(start_informers(informers, drivers, peering))

    @kopf.on.cleanup(id="informers-stop", registry=registry)
    def informers_stop(**_: Any) -> None:
        for gate in gates:
            stop_informers(gate)
        feeds.close()

    async def workload_seen(namespace: str | None, labels: Any, **_: Any) -> None:
        """An event of a trial's workload (its conditions say when it ends): wake its driver."""
        drivers.pod(namespace or "", str((labels or {}).get(TRIAL_LABEL, "")))

    for (api_version, _kind), plural in sorted(ctx.settings.workload_resources.items()):
        group, _, version = api_version.rpartition("/")
        kopf.on.event(
            group,
            version,
            plural,
            labels={STUDY_LABEL: kopf.PRESENT, TRIAL_LABEL: kopf.PRESENT},
            id=f"workload-seen-{plural}.{group}",
            registry=registry,
        )(workload_seen)

    @kopf.on.event(*STUDIES, id="study-seen", registry=registry)
    async def study_seen(
        type: str | None, body: Any, namespace: str | None, name: str, **_: Any
    ) -> None:
        ctx.store.study(body, deleted=type == "DELETED")
        if type == "DELETED":  # a Study has no finalizer: `study-deleted` may never run
            forget_study(namespace or "", name)
            ctx.checked.forget(str((body.get("metadata") or {}).get("uid") or ""))
        else:
            drivers.study(body)

    @kopf.on.cleanup(id="drivers-stop", registry=registry)
    def drivers_stop(**_: Any) -> None:
        drivers.close()

    def forget_study(namespace: str, name: str) -> None:
        """Drop what is kept about a deleted Study, its metric series included."""
        ctx.observer.study_deleted(namespace, name)
        ctx.engines.forget(namespace, name)
        ctx.store.forget((namespace, name))
        ctx.forget((namespace, name))
        drivers.study_deleted(namespace, name)
        if ctx.insight_jobs is not None:
            ctx.insight_jobs.forget((namespace, name))

    def reconcile(namespace: str, name: str, retry: int) -> None:
        try:
            reconcile_study(ctx, namespace, name)
        except Exception as error:
            ctx.observer.reconcile_error("study")
            raise retry_later(error, retry) from error

    @kopf.on.resume(*STUDIES, id="study-resumed", registry=registry)
    def study_resumed(namespace: str | None, name: str, retry: int, **_: Any) -> None:
        reconcile(namespace or "", name, retry)

    @kopf.on.create(*STUDIES, id="study-created", registry=registry)
    def study_created(namespace: str | None, name: str, retry: int, **_: Any) -> None:
        reconcile(namespace or "", name, retry)

    @kopf.on.update(*STUDIES, field="spec", id="study-spec", registry=registry)
    def study_spec_changed(namespace: str | None, name: str, retry: int, **_: Any) -> None:
        reconcile(namespace or "", name, retry)

    @kopf.timer(
        *STUDIES,
        interval=min(TIMER_TICK, ctx.settings.reconcile_interval),
        when=_open,
        id="study-timer",
        registry=registry,
    )
    def study_timer(namespace: str | None, name: str, **kwargs: Any) -> None:
        key, retry = (namespace or "", name), int(kwargs.get("retry") or 0)
        if retry or ctx.due(key, ctx.settings.reconcile_interval):
            reconcile(*key, retry)

    @kopf.on.delete(*STUDIES, optional=True, id="study-deleted", registry=registry)
    def study_deleted(namespace: str | None, name: str, **_: Any) -> None:
        forget_study(namespace or "", name)

    return drivers

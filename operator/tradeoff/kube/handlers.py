"""The kopf handlers: thin, level-based entry points into the reconcilers.

Studies are reconciled on create, resume and spec updates, and on a timer, always from
what the API holds at that moment. Each unfinished Trial gets a daemon that drives its
pod to an end. Handlers are registered on an explicit registry so the interval and the
shared context come from the operator's settings.
"""

from __future__ import annotations

import logging
from typing import Any

import kopf

from tradeoff.api.study import GROUP, VERSION
from tradeoff.api.trial import FINISHED_STATES
from tradeoff.engine.lifecycle import waits_for_resume
from tradeoff.kube.ownership import controller_of
from tradeoff.kube.studies import Context, reconcile_study
from tradeoff.kube.trials import TrialDriver

STUDIES = (GROUP, VERSION, "studies")
TRIALS = (GROUP, VERSION, "trials")
ANNOTATION_PREFIX = "tradeoff.dev"
log = logging.getLogger("tradeoff.operator")


def operator_settings(ctx: Context) -> kopf.OperatorSettings:
    """kopf settings: progress kept in annotations (the status belongs to the API)."""
    settings = kopf.OperatorSettings()
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
        prefix=ANNOTATION_PREFIX
    )
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=ANNOTATION_PREFIX, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{ANNOTATION_PREFIX}/operator"
    settings.posting.level = logging.WARNING
    settings.execution.max_workers = ctx.settings.max_workers
    settings.peering.priority = ctx.settings.priority
    settings.watching.server_timeout = 300
    settings.networking.request_timeout = 60
    return settings


def _runnable(status: Any, meta: Any, spec: Any, **_: Any) -> bool:
    """An unfinished Trial that claims its Study as controller: kopf neither drives nor
    puts its finalizer on any other (the driver then checks the Study's uid). A trial a
    stop rule cancelled has no driver until its study resumes."""
    state, reason = (status or {}).get("state"), (status or {}).get("reason")
    if state in FINISHED_STATES or waits_for_resume(state, reason):
        return False
    ref = controller_of({"metadata": {"ownerReferences": (meta or {}).get("ownerReferences")}})
    return (
        ref is not None
        and ref.get("kind") == "Study"
        and ref.get("name") == (spec or {}).get("study")
    )


def register(registry: kopf.OperatorRegistry, ctx: Context) -> None:
    """Register every handler of the operator on `registry`."""

    @kopf.on.login(id="login", registry=registry)
    def login(**kwargs: Any) -> Any:
        return kopf.login_via_client(**kwargs)

    def reconcile(namespace: str, name: str) -> None:
        try:
            reconcile_study(ctx, namespace, name)
        except Exception:
            ctx.observer.reconcile_error("study")
            raise

    @kopf.on.resume(*STUDIES, id="study-resumed", registry=registry)
    def study_resumed(namespace: str | None, name: str, **_: Any) -> None:
        reconcile(namespace or "", name)

    @kopf.on.create(*STUDIES, id="study-created", registry=registry)
    def study_created(namespace: str | None, name: str, **_: Any) -> None:
        reconcile(namespace or "", name)

    @kopf.on.update(*STUDIES, field="spec", id="study-spec", registry=registry)
    def study_spec_changed(namespace: str | None, name: str, **_: Any) -> None:
        reconcile(namespace or "", name)

    @kopf.timer(
        *STUDIES, interval=ctx.settings.reconcile_interval, id="study-timer", registry=registry
    )
    def study_timer(namespace: str | None, name: str, **_: Any) -> None:
        reconcile(namespace or "", name)

    @kopf.on.delete(*STUDIES, optional=True, id="study-deleted", registry=registry)
    def study_deleted(namespace: str | None, name: str, **_: Any) -> None:
        ctx.observer.study_deleted(namespace or "", name)
        ctx.engines.forget(namespace or "", name)

    @kopf.daemon(
        *TRIALS,
        id="trial",
        when=_runnable,
        backoff=1.0,
        cancellation_backoff=10.0,
        cancellation_timeout=10.0,
        registry=registry,
    )
    def trial_daemon(namespace: str | None, name: str, stopped: Any, **_: Any) -> None:
        driver = TrialDriver(
            ctx, namespace or "", name, stopped=lambda: bool(stopped), sleep=stopped.wait
        )
        try:
            driver.run()
        except Exception:
            ctx.observer.reconcile_error("trial")
            raise

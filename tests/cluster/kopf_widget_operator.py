"""A minimal kopf operator for the harness's smoke test: it marks new Widgets Ready.

Note: kopf 1.45 posts Kubernetes Events only for explicit `kopf.info/warn/event` calls
unless `settings.posting.loggers` is set; handler log lines are not posted by default.
"""

from __future__ import annotations

from typing import Any

import kopf


@kopf.on.create("example.dev", "v1", "widgets")
def widget_created(body: kopf.Body, spec: kopf.Spec, patch: kopf.Patch, **_: Any) -> None:
    """Report the widget Ready in its status (through the status subresource), with an Event."""
    patch.status["state"] = "Ready"
    patch.status["message"] = f"size {spec['size']}"
    kopf.info(body, reason="Ready", message=f"widget of size {spec['size']} is ready")


@kopf.on.field("example.dev", "v1", "widgets", field="spec.size")
def widget_resized(new: Any, old: Any, patch: kopf.Patch, **_: Any) -> None:
    """Follow size changes in the status message."""
    if old is not None:
        patch.status["message"] = f"resized to {new}"


@kopf.on.delete("example.dev", "v1", "widgets")
def widget_deleted(body: kopf.Body, **_: Any) -> None:
    """Deletion waits for this handler (kopf's finalizer), which leaves an Event behind."""
    kopf.info(body, reason="Deleted", message="widget cleaned up")

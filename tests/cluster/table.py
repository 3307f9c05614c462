"""`meta.k8s.io/v1 Table` rendering for kubectl: printer columns and built-in tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .resources import ResourceType

Obj = dict[str, Any]
Column = tuple[dict[str, Any], Callable[[Obj], Any]]

_SEGMENT = re.compile(r"\.([A-Za-z0-9_$-]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]")


def jsonpath(obj: Any, expression: str) -> Any:
    """Evaluate a simple JSONPath (`.status.trials.succeeded`, `.spec.items[0].name`)."""
    text = expression.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    text = text.lstrip("$")
    current = obj
    for match in _SEGMENT.finditer(text):
        key = match[1] or match[3] or match[4]
        if key is not None:
            current = current.get(key) if isinstance(current, dict) else None
        else:
            index = int(match[2])
            current = current[index] if isinstance(current, list) and index < len(current) else None
        if current is None:
            return None
    return current


def human_age(timestamp: str | None) -> str:
    """`5s`, `3m12s`, `4h`, `2d` like kubectl's ages."""
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp)
    except ValueError:
        return "<invalid>"
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0, int((datetime.now(UTC) - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _column(name: str, kind: str = "string", priority: int = 0, fmt: str = "") -> dict[str, Any]:
    return {"name": name, "type": kind, "format": fmt, "description": name, "priority": priority}


NAME = (_column("Name", fmt="name"), lambda o: o["metadata"]["name"])
AGE = (_column("Age"), lambda o: human_age(o["metadata"].get("creationTimestamp")))


def _printer_column(spec: dict[str, Any]) -> Column:
    definition = _column(
        spec["name"], spec.get("type", "string"), spec.get("priority", 0), spec.get("format", "")
    )
    definition["description"] = spec.get("description", spec["name"])
    path, kind = spec["jsonPath"], spec.get("type", "string")

    def cell(obj: Obj) -> Any:
        value = jsonpath(obj, path)
        if kind == "date" and isinstance(value, str):
            return human_age(value)
        return value

    return definition, cell


def _pod_status(pod: Obj) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = pod.get("status", {})
    if status.get("reason"):
        return str(status["reason"])
    for container in status.get("containerStatuses") or ():
        state = container.get("state", {})
        for key in ("terminated", "waiting"):
            if key in state and state[key].get("reason"):
                return str(state[key]["reason"])
    return str(status.get("phase", "Pending"))


def _pod_ready(pod: Obj) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or [])
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def _node_status(node: Obj) -> str:
    for condition in node.get("status", {}).get("conditions") or ():
        if condition.get("type") == "Ready":
            return "Ready" if condition.get("status") == "True" else "NotReady"
    return "Unknown"


BUILTIN_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "pods"): [
        NAME,
        (_column("Ready"), _pod_ready),
        (_column("Status"), _pod_status),
        (_column("Restarts", "integer"), lambda o: 0),
        AGE,
        (_column("IP", priority=1), lambda o: o.get("status", {}).get("podIP", "<none>")),
        (_column("Node", priority=1), lambda o: o.get("spec", {}).get("nodeName", "<none>")),
    ],
    ("", "nodes"): [
        NAME,
        (_column("Status"), _node_status),
        (_column("Roles"), lambda o: "<none>"),
        AGE,
        (
            _column("Version"),
            lambda o: o.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", ""),
        ),
    ],
    ("", "namespaces"): [
        NAME,
        (_column("Status"), lambda o: o.get("status", {}).get("phase", "")),
        AGE,
    ],
    ("", "events"): [
        (
            _column("Last Seen"),
            lambda o: human_age(o.get("lastTimestamp") or o["metadata"].get("creationTimestamp")),
        ),
        (_column("Type"), lambda o: o.get("type", "")),
        (_column("Reason"), lambda o: o.get("reason", "")),
        (
            _column("Object"),
            lambda o: "{}/{}".format(
                o.get("involvedObject", {}).get("kind", "").lower(),
                o.get("involvedObject", {}).get("name", ""),
            ),
        ),
        (_column("Message"), lambda o: o.get("message", "")),
    ],
    ("apiextensions.k8s.io", "customresourcedefinitions"): [
        NAME,
        (_column("Created At", "date"), lambda o: o["metadata"].get("creationTimestamp")),
    ],
}


def columns_for(rt: ResourceType) -> list[Column]:
    if rt.custom:
        if rt.printer_columns:
            return [NAME, *(_printer_column(spec) for spec in rt.printer_columns)]
        return [NAME, AGE]
    return BUILTIN_COLUMNS.get((rt.group, rt.plural), [NAME, AGE])


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def render(
    rt: ResourceType, objects: list[Obj], resource_version: str, include: str = "Metadata"
) -> Obj:
    """A Table of `objects` with the columns kubectl shows for the resource."""
    columns = columns_for(rt)
    rows = []
    for obj in objects:
        row: Obj = {"cells": [cell(obj) for _, cell in columns]}
        partial = _row_object(obj, include)
        if partial is not None:
            row["object"] = partial
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [definition for definition, _ in columns],
        "rows": rows,
    }

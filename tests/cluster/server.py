"""The emulator's HTTP layer (aiohttp): routing, content negotiation, watches and logs."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Mapping
from typing import Any

import yaml
from aiohttp import web

from . import discovery, openapi, table
from .errors import ApiError, bad_request, qualified
from .jsondata import decode, encode
from .logs import LogRegistry
from .patch import PATCH_TYPES
from .podlogs import serve_pod_log
from .protobuf import PROTOBUF, decode_object
from .resources import ResourceType
from .selectors import field_matcher, label_matcher
from .store import Obj, Store
from .watch import stream_watch

JSON = "application/json"
log = logging.getLogger(__name__)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=encode(body),
        status=status,
        content_type=JSON,
        headers=headers,
    )


def _error(error: ApiError) -> web.Response:
    return _json(error.status(), error.code)


def _deleted_status(rt: ResourceType, name: str, uid: str) -> Obj:
    """What the API server answers when a custom resource is gone at once."""
    details = {"name": name, "group": rt.group, "kind": rt.plural, "uid": uid}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def _sort_key(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return (meta.get("namespace", ""), meta["name"])


def _paginate(
    items: list[Obj], query: Mapping[str, str], version: str
) -> tuple[list[Obj], dict[str, Any]]:
    """Apply `continue` then `limit`; the token names the last key returned."""
    token = query.get("continue")
    if token:
        try:
            state = json.loads(base64.urlsafe_b64decode(token.encode()))
            start, version = tuple(state["start"]), state["rv"]
        except (ValueError, KeyError, TypeError) as exc:
            raise bad_request(f"continue key is not valid: {exc}") from exc
        items = [o for o in items if _sort_key(o) > start]
    limit = int(query.get("limit") or 0)
    if limit <= 0 or len(items) <= limit:
        return items, ({"resourceVersion": version} if token else {})
    page = items[:limit]
    state = {"rv": version, "start": list(_sort_key(page[-1]))}
    next_token = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
    return page, {
        "resourceVersion": version,
        "continue": next_token,
        "remainingItemCount": len(items) - limit,
    }


class ApiServer:
    """Routes Kubernetes API requests to a `Store`."""

    def __init__(self, store: Store, logs: LogRegistry, bookmark_interval: float = 10.0) -> None:
        self.store = store
        self.logs = logs
        self.bookmark_interval = bookmark_interval
        self.address = "127.0.0.1"
        self.stopping = asyncio.Event()
        self.streams: set[asyncio.Task[Any]] = set()
        self.peers: set[Any] = set()
        """The client addresses requests came from: one per connection a client opened."""

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        task = asyncio.current_task()
        if task is not None:
            self.streams.add(task)
        if request.transport is not None:
            self.peers.add(request.transport.get_extra_info("peername"))
        try:
            return await self._dispatch(request)
        except ApiError as error:
            return _error(error)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug of the emulator: answer 500 as the API server would
            log.exception("the API emulator failed on %s %s", request.method, request.path)
            return _error(ApiError(500, f"the API emulator failed: {exc!r}"))
        finally:
            if task is not None:
                self.streams.discard(task)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = [p for p in request.path.split("/") if p]
        types = self.store.types()
        if not parts:
            return _json({"paths": ["/api", "/api/v1", "/apis", "/openapi/v3", "/version"]})
        if parts[0] in ("healthz", "readyz", "livez"):
            return web.Response(text="ok")
        if parts == ["version"]:
            return _json(discovery.VERSION_INFO)
        if parts[0] == "openapi":
            return self._openapi(parts, types)
        if parts[0] == "api":
            if len(parts) == 1:
                return _json(discovery.api_versions(self.address))
            return await self._group_version(request, types, "", parts[1], parts[2:])
        if parts[0] == "apis":
            if len(parts) == 1:
                return _json(discovery.api_group_list(types))
            if len(parts) == 2:
                group_doc = discovery.api_group(types, parts[1])
                if group_doc is None:
                    raise ApiError(404, "the server could not find the requested resource")
                return _json(group_doc)
            return await self._group_version(request, types, parts[1], parts[2], parts[3:])
        raise ApiError(404, "the server could not find the requested resource")

    def _openapi(self, parts: list[str], types: list[ResourceType]) -> web.Response:
        if parts[1:] == ["v3"]:
            return _json(openapi.index(types))
        wanted = "/".join(parts[2:])
        members = openapi.by_group_version(types).get(wanted)
        if parts[1] != "v3" or not members:
            raise ApiError(404, "the server could not find the requested resource")
        return _json(openapi.document(members))

    async def _group_version(
        self,
        request: web.Request,
        types: list[ResourceType],
        group: str,
        version: str,
        rest: list[str],
    ) -> web.StreamResponse:
        if not rest:
            doc = discovery.resource_list(types, group, version)
            if doc is None:
                raise ApiError(404, "the server could not find the requested resource")
            return _json(doc)
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        rt = self.store.type(group, version, rest[0])
        if len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if rt.namespaced and name and namespace is None:
            raise ApiError(404, "the server could not find the requested resource")
        if not rt.namespaced:
            if namespace is not None:
                raise ApiError(404, "the server could not find the requested resource")
            namespace = ""
        if sub not in ("", "status", "log") or (sub == "log" and not rt.log_subresource):
            raise ApiError(404, "the server could not find the requested resource")
        if sub == "status" and not rt.status_subresource:
            raise ApiError(404, "the server could not find the requested resource")
        return await self._resource(request, rt, namespace, name, sub)

    def _count(self, verb: str, rt: ResourceType, sub: str) -> None:
        resource = qualified(rt.plural, rt.group) + (f"/{sub}" if sub else "")
        with self.store.lock:
            self.store.requests[(verb, resource)] += 1

    async def _resource(
        self, request: web.Request, rt: ResourceType, namespace: str | None, name: str, sub: str
    ) -> web.StreamResponse:
        method, query = request.method, request.query
        warnings: list[str] = []
        validation = query.get("fieldValidation", "")
        if query.get("dryRun"):
            raise bad_request("the Kubernetes API emulator does not support dryRun")
        if method == "GET" and not name:
            watching = query.get("watch", "").lower() in ("true", "1")
            self._count("watch" if watching else "list", rt, sub)
            if watching:
                return await self._watch(request, rt, namespace)
            return self._list(request, rt, namespace)
        if method == "GET" and sub == "log":
            self._count("get", rt, sub)
            return await serve_pod_log(request, self.store, self.logs, rt, namespace or "", name)
        if method == "GET":
            self._count("get", rt, sub)
            found = self.store.get(rt, namespace or "", name, shared=True)
            return self._respond(request, rt, found)
        if method == "POST" and not name:
            self._count("create", rt, sub)
            body = await self._body(request)
            created = self.store.create(
                rt, namespace or "", body, field_validation=validation, warnings=warnings,
                shared=True,
            )  # fmt: skip
            return self._respond(request, rt, created, 201, warnings)
        if method == "PUT" and name:
            self._count("update", rt, sub)
            body = await self._body(request)
            updated = self.store.replace(
                rt, namespace or "", name, body, subresource=sub,
                field_validation=validation, warnings=warnings, shared=True,
            )  # fmt: skip
            return self._respond(request, rt, updated, 200, warnings)
        if method == "PATCH" and name:
            self._count("patch", rt, sub)
            patch_type = request.content_type
            if patch_type not in PATCH_TYPES:
                raise ApiError(
                    415, f"the body of the request was in an unknown format: {patch_type}"
                )
            body = await self._body(request)
            patched = self.store.patch(
                rt, namespace or "", name, patch_type, body, subresource=sub,
                field_validation=validation, warnings=warnings, shared=True,
            )  # fmt: skip
            return self._respond(request, rt, patched, 200, warnings)
        if method == "DELETE":
            options = await self._body(request) if request.can_read_body else {}
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy")
            grace = query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
            grace_seconds = None if grace is None else int(grace)
            if not name:
                self._count("deletecollection", rt, sub)
                matcher = self._matcher(request)
                items, _ = self.store.list(rt, namespace, matcher)
                for item in items:
                    meta = item["metadata"]
                    self.store.delete(
                        rt, meta.get("namespace", ""), meta["name"],
                        propagation=propagation, grace_seconds=grace_seconds,
                    )  # fmt: skip
                return _json({"kind": "Status", "apiVersion": "v1", "status": "Success"})
            self._count("delete", rt, sub)
            uid = (options.get("preconditions") or {}).get("uid")
            deleted = self.store.delete(
                rt, namespace or "", name, propagation=propagation,
                grace_seconds=grace_seconds, precondition_uid=uid,
            )  # fmt: skip
            if rt.custom and self.store.find(rt, namespace or "", name) is None:
                return _json(_deleted_status(rt, name, deleted["metadata"]["uid"]))
            return self._respond(request, rt, deleted)
        raise ApiError(
            405, f"the server does not allow this method on the requested resource: {method}"
        )

    async def _body(self, request: web.Request) -> Any:
        raw = await request.read()
        if not raw:
            return {}
        if request.content_type == PROTOBUF:
            if request.method == "DELETE":
                return {}  # DeleteOptions: the query parameters carry what the emulator uses
            return decode_object(raw)
        try:
            if "yaml" in request.content_type:
                return yaml.safe_load(raw)
            return decode(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise bad_request(f"the request body is not valid JSON or YAML: {exc}") from exc

    @staticmethod
    def _wants_table(request: web.Request) -> bool:
        return "as=Table" in request.headers.get("Accept", "")

    def _respond(
        self,
        request: web.Request,
        rt: ResourceType,
        obj: Obj,
        status: int = 200,
        warnings: list[str] | None = None,
    ) -> web.Response:
        headers = {}
        if warnings:
            quoted = ('299 - "' + w.replace('"', '\\"') + '"' for w in warnings)
            headers["Warning"] = ", ".join(quoted)
        if self._wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            return _json(
                table.render(rt, [obj], self.store.resource_version, include), status, headers
            )
        return _json(obj, status, headers)

    def _matcher(self, request: web.Request) -> Any:
        labels = label_matcher(request.query.get("labelSelector"))
        fields = field_matcher(request.query.get("fieldSelector"))
        return lambda obj: labels(obj) and fields(obj)

    def _list(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.Response:
        """A list (or Table) in key order, paginated by `limit` and `continue`."""
        matcher = self._matcher(request)
        with self.store.lock:
            items = [o for o in self.store.iter_objects(rt, namespace) if matcher(o)]
            version = self.store.resource_version
        items.sort(key=_sort_key)
        items, list_meta = _paginate(items, request.query, version)
        if self._wants_table(request):
            include = request.query.get("includeObject", "Metadata")
            rendered = table.render(rt, items, version, include)
            rendered["metadata"].update(list_meta)
            return _json(rendered)
        body = {
            "kind": rt.list_kind,
            "apiVersion": rt.api_version,
            "metadata": {"resourceVersion": version, **list_meta},
            "items": items,
        }
        return _json(body)

    async def _watch(
        self, request: web.Request, rt: ResourceType, namespace: str | None
    ) -> web.StreamResponse:
        scope = namespace if rt.namespaced else None
        return await stream_watch(self, request, rt, scope, self._matcher(request))

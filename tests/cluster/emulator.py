"""`Emulator`: the Kubernetes API emulator served over plain HTTP on loopback.

It runs an aiohttp server on its own event loop in a background thread::

    with Emulator() as api:
        api.write_kubeconfig(path)
        api.load_yaml("crds/")

`api.store` is the in-process object store (for assertions and the local kubelet).
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml
from aiohttp import web

from .errors import ApiError
from .logs import LogRegistry
from .server import ApiServer
from .store import Obj, Store


class Emulator:
    """A Kubernetes API server emulator; `start()`/`stop()` or use it as a context manager."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        history_size: int = 20000,
        bookmark_interval: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.store = Store(history_size=history_size)
        self.logs = LogRegistry()
        self.server = ApiServer(self.store, self.logs, bookmark_interval)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Emulator:
        """Start serving; returns once the port is bound."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # surfaced to the caller of start()
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="k8s-api-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise RuntimeError(f"the API emulator could not start: {failure[0]}") from failure[0]
        return self

    async def _serve(self) -> None:
        self.server.stopping = asyncio.Event()
        self._runner = web.AppRunner(self.server.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = int(server.sockets[0].getsockname()[1])
        self.server.address = f"{self.host}:{self.port}"

    async def _shutdown(self) -> None:
        """End open watches and log streams, close the server, cancel what is left."""
        self.server.stopping.set()
        streams = list(self.server.streams)
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        current = asyncio.current_task()
        leftovers = [t for t in asyncio.all_tasks() if t is not current]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    def stop(self) -> None:
        """Stop serving: open watches and log streams end, the thread exits."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self.server.stopping.set)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = None
        self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ----- conveniences ----------------------------------------------------------------
    def kubeconfig(self, namespace: str = "default") -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {"cluster": "emulator", "user": "emulator", "namespace": namespace},
                }
            ],
            "current-context": "emulator",
        }

    def write_kubeconfig(self, path: Path | str, namespace: str = "default") -> Path:
        target = Path(path)
        target.write_text(yaml.safe_dump(self.kubeconfig(namespace)))
        return target

    def apply(self, obj: Obj, namespace: str = "default") -> Obj:
        """Create an object, or replace the stored one of the same name (like `kubectl apply`)."""
        rt = self.store.type_for_kind(obj["apiVersion"], obj["kind"])
        ns = (obj.get("metadata") or {}).get("namespace", namespace) if rt.namespaced else ""
        name = obj["metadata"]["name"]
        with self.store.lock:
            current = self.store.find(rt, ns, name)
            if current is None:
                return self.store.create(rt, ns, obj)
            version = current["metadata"]["resourceVersion"]
            body = {**obj, "metadata": {**obj["metadata"], "resourceVersion": version}}
            return self.store.replace(rt, ns, name, body)

    def load_yaml(self, path: Path | str, namespace: str = "default") -> list[Obj]:
        """Apply every document of a YAML file, or of every *.yaml/*.yml file in a directory."""
        source = Path(path)
        files = (
            sorted(p for p in source.iterdir() if p.suffix in (".yaml", ".yml"))
            if source.is_dir()
            else [source]
        )
        loaded = []
        for file in files:
            for doc in yaml.safe_load_all(file.read_text()):
                if not doc:
                    continue
                try:
                    loaded.append(self.apply(doc, namespace))
                except ApiError as error:
                    raise ValueError(f"{file}: {error.message}") from error
        return loaded

    def request_counts(self) -> Counter[tuple[str, str]]:
        """Requests served by (verb, resource), e.g. ("patch", "trials.tradeoff.dev/status")."""
        with self.store.lock:
            return Counter(self.store.requests)

    def reset_request_counts(self) -> None:
        with self.store.lock:
            self.store.requests.clear()

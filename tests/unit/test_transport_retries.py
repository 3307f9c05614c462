"""Each request of the operator is retried by the HTTP layer on a busy or failing server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tradeoff.kube.client import Kube, transport_retries


class Server:
    """Answers each request with the next status of `script` (then 200), and counts."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.seen: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.seen.append(self.command)
                status = server.script.pop(0) if server.script else 200
                body = json.dumps({"kind": "Status", "code": status, "metadata": {"name": "s"}})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def kube(self) -> Kube:
        configuration = client.Configuration()
        configuration.host = f"http://127.0.0.1:{self.http.server_address[1]}"
        configuration.retries = transport_retries()
        return Kube(client.ApiClient(configuration))


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.http.shutdown()


def test_busy_and_failing_answers_are_retried(server: Server) -> None:
    server.script = [429, 500, 503]
    assert server.kube().get_object("studies", "ns", "s") is not None
    assert server.seen == ["GET"] * 4


def test_a_create_whose_answer_was_lost_is_done_when_retried(server: Server) -> None:
    server.script = [500, 409]  # the first try made it; the second finds it
    assert server.kube().create_trial("ns", {"metadata": {"name": "s-0000"}}) is None
    assert server.seen == ["POST", "POST"]


def test_retries_end_with_the_last_answer(server: Server) -> None:
    server.script = [500] * 10
    with pytest.raises(ApiException) as raised:
        server.kube().replace_status("studies", "ns", "s", {"state": "Running"})
    assert raised.value.status == 500 and server.seen == ["PATCH"] * 4


def test_other_errors_are_not_retried(server: Server) -> None:
    server.script = [404, 422]
    assert server.kube().get_object("studies", "ns", "s") is None
    with pytest.raises(ApiException):
        server.kube().create_trial("ns", {"metadata": {"name": "s-0000"}})
    assert server.seen == ["GET", "POST"]


def test_the_operator_s_client_retries(
    server: Server, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradeoff.kube.credentials import load_credentials

    port = server.http.server_address[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    (tmp_path / "kubeconfig").write_text(json.dumps(config))
    from kubernetes.config import kube_config

    # Read from $KUBECONFIG when the client is imported, as in the operator's process.
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    server.script = [503, 429]
    assert Kube(load_credentials()).get_object("studies", "ns", "s") is not None
    assert server.seen == ["GET"] * 3

"""How the operator's requests travel: retries, timeouts, the connection pool, and raw
answers read to their end (so each connection goes back to the pool); a read answered
404 is None (`found`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.util.retry import Retry

REQUEST_TIMEOUT = 30.0
"""Seconds any single request may take (log streams excepted): a hung call becomes an error."""
LOG_READ_TIMEOUT = 60.0
"""Seconds a followed log may stay silent before its stream ends (the follower re-opens it)."""
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Answers a request is sent again for: the server was busy, or failed on its side."""
POOL_CONNECTIONS = 32
"""Connections kept open to the API server: enough for the trial drivers' workers, the
passes and the followed logs at once (the client's default, 4, makes the others open and
drop a connection per request)."""


def transport_retries() -> Retry:
    """How each request is retried by the HTTP layer before its caller sees an error.

    Up to three more tries, 0.2-0.8 s apart or as long as the server's `Retry-After` asks
    (429 and 503, at most 10 s), for connection errors and the answers in
    `RETRY_STATUSES`, whatever the verb: every write the operator makes is safe to send
    twice (a create answered 409 means it exists, status writes replace, deletes of the
    gone are ignored). The last answer is returned as it is, so errors keep their status.
    """
    return Retry(
        total=3,
        connect=3,
        read=2,
        status=3,
        other=0,
        allowed_methods=None,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.2,
        backoff_max=2.0,
        backoff_jitter=0.1,
        raise_on_status=False,
        respect_retry_after_header=True,
        retry_after_max=10,
    )


def retry_after(error: BaseException) -> float | None:
    """Seconds an API error asked the client to wait (`Retry-After`), if it did."""
    headers = getattr(error, "headers", None) or {}
    try:
        value = float(headers.get("Retry-After", ""))
    except (TypeError, ValueError):
        return None
    return value if value >= 0 else None


def configure(configuration: Any) -> Any:
    """The client settings every request relies on: retries and the connection pool."""
    configuration.retries = transport_retries()
    configuration.connection_pool_maxsize = POOL_CONNECTIONS
    return configuration


def decoded(response: Any) -> Any:
    """The JSON body of a raw answer (its connection back in the pool)."""
    try:
        return json.loads(response.data)
    finally:
        response.release_conn()


def read_through(response: Any) -> None:
    """Read a raw answer to its end, unused, so its connection goes back to the pool."""
    try:
        response.data  # noqa: B018 (reading it is the point)
    finally:
        response.release_conn()


def found(read: Callable[..., Any], *args: Any) -> dict[str, Any] | None:
    """The object `read(*args)` answers, decoded; None if the API answers 404."""
    try:
        response = read(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    obj: dict[str, Any] = decoded(response)
    return obj

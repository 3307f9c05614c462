"""A small client of Prometheus's HTTP API: instant queries at a given time.

Only ``GET /api/v1/query`` with ``query`` and ``time`` is used (documented at
https://prometheus.io/docs/prometheus/latest/querying/api/). Every failure (refused
connection, timeout, HTTP error, an answer that is not a vector) raises
``PrometheusError`` with one line that says what went wrong, never a traceback.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Prometheus", "PrometheusError", "Sample", "check_url", "label_value"]


class PrometheusError(Exception):
    """A query failed; the message is one line."""


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector: its labels and value."""

    labels: dict[str, str]
    value: float


def check_url(url: str) -> str:
    """``url`` without a trailing slash; ``ValueError`` unless it is http(s)://host[:port]."""
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected http(s)://host[:port][/path], got {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"no query or fragment expected in {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    return url.strip().rstrip("/")


def label_value(value: str) -> str:
    """``value`` quoted as a PromQL string literal (for a label matcher)."""
    return json.dumps(value)


class Prometheus:
    """Instant queries against one Prometheus server (``url``, as ``check_url`` accepts)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = check_url(url)
        self.timeout = timeout

    def query(self, expr: str, at: datetime) -> list[Sample]:
        """The instant vector ``expr`` evaluates to at ``at`` (an aware datetime)."""
        params = urllib.parse.urlencode({"query": expr, "time": f"{at.timestamp():.3f}"})
        request = urllib.request.Request(
            f"{self.url}/api/v1/query?{params}", headers={"Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            raise PrometheusError(f"Prometheus {self.url}: {_http_error(error)}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PrometheusError(f"Prometheus {self.url} unreachable: {reason}") from None
        return parse_vector(body, self.url)


def _http_error(error: urllib.error.HTTPError) -> str:
    try:
        answer = json.loads(error.read() or b"{}")
        detail = str(answer.get("error") or error.reason)
    except (ValueError, OSError, AttributeError):
        detail = str(error.reason)
    return f"HTTP {error.code}: {detail.splitlines()[0][:200] if detail else ''}"


def parse_vector(body: bytes, where: str = "Prometheus") -> list[Sample]:
    """The samples of an instant-query answer; ``PrometheusError`` for anything else."""
    try:
        answer: Any = json.loads(body)
    except ValueError:
        raise PrometheusError(f"{where}: the answer is not JSON") from None
    if not isinstance(answer, dict) or answer.get("status") != "success":
        error = answer.get("error") if isinstance(answer, dict) else None
        raise PrometheusError(f"{where}: query failed: {str(error or answer)[:200]}")
    data = answer.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "vector":
        kind = data.get("resultType") if isinstance(data, dict) else None
        raise PrometheusError(f"{where}: expected a vector, got {kind!r}")
    samples = []
    for item in data.get("result") or []:
        try:
            labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
            value = float(item["value"][1])
        except (AttributeError, KeyError, IndexError, TypeError, ValueError):
            raise PrometheusError(f"{where}: a malformed sample: {str(item)[:120]}") from None
        if math.isfinite(value):
            samples.append(Sample(labels, value))
    return samples

"""A loopback carbon-intensity server in the documented shapes of two real services.

* Electricity Maps API v3: ``GET /v3/carbon-intensity/latest?zone=Z`` answers
  ``{zone, carbonIntensity, datetime, updatedAt, isEstimated, ...}``;
  ``/history?zone=Z`` answers ``{zone, history: [...]}`` (the last 24 hours, at most 500
  points here);
  ``/past-range?zone=Z&start=&end=`` answers ``{zone, data: [...]}``. A request without
  the expected ``auth-token`` header gets 401.
* Carbon Aware SDK WebAPI: ``GET /emissions/bylocation?location=L&time=&toTime=`` answers
  ``[{location, time, rating, duration}]`` with ``duration`` a .NET TimeSpan ``hh:mm:ss``.

Intensities come from ``trace(zone, moment)`` on a grid of ``step`` seconds, so a test
knows exactly what the service said about any window.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Trace = Callable[[str, datetime], float]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class CarbonApi:
    """``with CarbonApi(trace) as api: api.url``; ``api.requests`` lists (path, query)."""

    def __init__(
        self, trace: Trace, *, step: float = 3600.0, token: str | None = "t0ken", delay: float = 0
    ) -> None:
        self.trace = trace
        self.step = step
        self.token = token
        self.delay = delay
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.fail_status: int | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CarbonApi:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def grid(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """The sample times (multiples of ``step``) from the one at or before ``start``."""
        epoch = start.timestamp() // self.step * self.step
        moment = datetime.fromtimestamp(epoch, UTC)
        while moment <= end:
            yield moment
            moment += timedelta(seconds=self.step)

    def _em_point(self, zone: str, moment: datetime) -> dict[str, Any]:
        return {
            "zone": zone,
            "carbonIntensity": round(self.trace(zone, moment)),
            "datetime": _stamp(moment),
            "updatedAt": _stamp(moment + timedelta(minutes=30)),
            "createdAt": _stamp(moment),
            "emissionFactorType": "lifecycle",
            "isEstimated": False,
            "estimationMethod": None,
        }

    def answer(self, path: str, query: dict[str, str], headers: Any) -> tuple[int, Any]:
        self.requests.append((path, query))
        if self.fail_status is not None:
            return self.fail_status, {"message": "failing on purpose"}
        now = datetime.now(UTC)
        if path.startswith("/v3/"):
            if self.token is not None and headers.get("auth-token") != self.token:
                return 401, {"status": "error", "message": "missing or invalid auth-token"}
            zone = query.get("zone", "")
            if path == "/v3/carbon-intensity/latest":
                return 200, self._em_point(zone, next(self.grid(now, now)))
            if path == "/v3/carbon-intensity/history":
                since = max(now - timedelta(hours=24), now - timedelta(seconds=self.step * 500))
                points = self.grid(since, now)
                return 200, {"zone": zone, "history": [self._em_point(zone, t) for t in points]}
            if path == "/v3/carbon-intensity/past-range":
                points = self.grid(_parse(query["start"]), _parse(query["end"]))
                return 200, {"zone": zone, "data": [self._em_point(zone, t) for t in points]}
        if path == "/emissions/bylocation":
            location = query.get("location", "")
            start = _parse(query["time"]) if "time" in query else now - timedelta(days=1)
            end = _parse(query["toTime"]) if "toTime" in query else now
            hours, rest = divmod(int(self.step), 3600)
            span = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
            return 200, [
                {
                    "location": location,
                    "time": t.astimezone(UTC).isoformat(),
                    "rating": self.trace(location, t),
                    "duration": span,
                }
                for t in self.grid(start, end)
            ]
        return 404, {"error": f"no route {path}"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parsed = urllib.parse.urlparse(self.path)
                query = dict(urllib.parse.parse_qsl(parsed.query))
                if api.delay:
                    threading.Event().wait(api.delay)
                status, body = api.answer(parsed.path, query, self.headers)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the client gave up (timeout)
                    self.wfile.write(data)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler

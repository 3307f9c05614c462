"""Open a page in a real headless Chromium (Debian's `chromium`) over the DevTools
protocol: what its console said, what it asked of the network, what a script finds in it,
and a full-page screenshot."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket


@dataclass
class Visit:
    """What the browser saw of one page."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    result: Any = None


class _Session:
    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message["result"]
                return result
            self.events.append(message)

    def wait_for(self, event: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not any(e.get("method") == event for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(event)
            self.events.append(json.loads(self.ws.recv()))


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("chromium is not installed: apt-get install -y chromium")
    return found


def visit(page: Path, script: str, screenshot: Path, profile: Path, width: int = 1280) -> Visit:
    """Load `page`, evaluate `script` (its value comes back as `result`), save a screenshot."""
    proc = subprocess.Popen(
        [
            chromium(),
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            f"--window-size={width},900",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        port = None
        for line in proc.stderr:
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = m.group(1)
                break
        if port is None:
            raise RuntimeError("chromium did not open its DevTools port")
        return _drive(int(port), page, script, screenshot, width)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _drive(port: int, page: Path, script: str, screenshot: Path, width: int) -> Visit:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
        targets = json.load(r)
    target = next(t for t in targets if t["type"] == "page")
    s = _Session(target["webSocketDebuggerUrl"])
    for domain in ("Page", "Runtime", "Log", "Network"):
        s.call(f"{domain}.enable")
    s.call("Page.navigate", url=page.resolve().as_uri())
    s.wait_for("Page.loadEventFired")
    got = s.call("Runtime.evaluate", expression=script, returnByValue=True)
    height = s.call("Runtime.evaluate", expression="document.documentElement.scrollHeight")
    s.call(
        "Emulation.setDeviceMetricsOverride",
        width=width,
        height=int(height["result"]["value"]),
        deviceScaleFactor=1,
        mobile=False,
    )
    shot = s.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    seen = Visit(result=got["result"].get("value"))
    for e in s.events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            seen.errors.append(" ".join(str(a.get("value")) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            seen.errors.append(params["exceptionDetails"].get("text", "exception"))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            seen.errors.append(params["entry"]["text"])
        elif method == "Network.requestWillBeSent":
            seen.requests.append(params["request"]["url"])
    s.ws.close()
    return seen

"""Turning a pod's first container into a local process: argv, environment, paths."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Obj = dict[str, Any]
SecretLookup = Callable[[str, str], Obj | None]
"""(namespace, name) -> the Secret in the store, or None."""


class ContainerConfigError(Exception):
    """The container cannot be configured (the kubelet's CreateContainerConfigError): the
    message is the kubelet's own wording."""


DEFAULT_TERMINATION_PATH = "/dev/termination-log"
INSTANT_COMMAND = "tradeoff-harness-instant"
"""Marker command: the kubelet completes the pod at once, printing the args as log lines.

Set `TRADEOFF_INSTANT_EXIT_CODE` in the container env for a non-zero exit. No process starts,
which is what benchmarks that count API requests per trial want.
"""

_REFERENCE = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes `$(VAR)` expansion; unknown references stay as written."""
    return _REFERENCE.sub(lambda m: env.get(m[1], m[0]), text)


def _field_ref(pod: Obj, path: str) -> str:
    meta = pod.get("metadata", {})
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": pod.get("spec", {}).get("nodeName", ""),
        "spec.serviceAccountName": pod.get("spec", {}).get("serviceAccountName", "default"),
        "status.podIP": "127.0.0.1",
        "status.hostIP": "127.0.0.1",
    }
    if path in simple:
        return str(simple[path])
    match = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
    if match:
        return str((meta.get(match[1]) or {}).get(match[2], ""))
    return ""


def _secret_value(namespace: str, ref: Obj, secrets: SecretLookup | None) -> str | None:
    """A `secretKeyRef`'s value (None: optional and missing), or `ContainerConfigError`
    as the kubelet words it."""
    name, key = str(ref.get("name", "")), str(ref.get("key", ""))
    found = secrets(namespace, name) if secrets is not None else None
    if found is None:
        if ref.get("optional"):
            return None
        raise ContainerConfigError(f'secret "{name}" not found')
    if key in (found.get("data") or {}):
        try:
            return base64.b64decode(found["data"][key], validate=True).decode("utf-8", "replace")
        except binascii.Error:
            raise ContainerConfigError(f"secret {namespace}/{name}: {key} is not base64") from None
    if key in (found.get("stringData") or {}):
        return str(found["stringData"][key])
    if ref.get("optional"):
        return None
    raise ContainerConfigError(f"couldn't find key {key} in Secret {namespace}/{name}")


def environment(
    pod: Obj,
    container: Obj,
    home: Path,
    repo_root: Path | None,
    secrets: SecretLookup | None = None,
) -> dict[str, str]:
    """The process environment: a minimal base, the repo on PYTHONPATH, then the pod's env
    (`secretKeyRef`s read through `secrets`; a missing Secret or key raises
    `ContainerConfigError` unless the reference is optional)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(home),
        "HOSTNAME": pod["metadata"]["name"],
        "LANG": "C.UTF-8",
        "TMPDIR": str(home),
    }
    if repo_root is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(repo_root), str(repo_root / "operator")])
    for item in container.get("env") or ():
        if "value" in item:
            env[item["name"]] = expand(str(item["value"]), env)
        elif "fieldRef" in (item.get("valueFrom") or {}):
            env[item["name"]] = _field_ref(pod, item["valueFrom"]["fieldRef"].get("fieldPath", ""))
        elif "secretKeyRef" in (item.get("valueFrom") or {}):
            namespace = str(pod["metadata"].get("namespace", ""))
            value = _secret_value(namespace, item["valueFrom"]["secretKeyRef"], secrets)
            if value is not None:
                env[item["name"]] = value
        else:
            env.setdefault(item["name"], "")
    return env


def argv(container: Obj, env: dict[str, str]) -> list[str]:
    """command + args with `$(VAR)` expanded; `python`/`python3` become this interpreter."""
    words = [
        expand(str(w), env)
        for w in (container.get("command") or []) + (container.get("args") or [])
    ]
    if words and _PYTHON.match(words[0]):
        words[0] = sys.executable
    elif words and "/" not in words[0]:
        found = shutil.which(words[0], path=env.get("PATH"))
        if found:
            words[0] = found
    return words


def redirect_termination_path(
    container: Obj, env: dict[str, str], words: list[str], local: Path
) -> tuple[dict[str, str], list[str]]:
    """Point env values and args naming the termination message path to a local file."""
    target = container.get("terminationMessagePath") or DEFAULT_TERMINATION_PATH
    env = {k: (str(local) if v == target else v) for k, v in env.items()}
    return env, [str(local) if w == target else w for w in words]


def claim_mounts(pod: Obj, container: Obj, claims: dict[str, Path]) -> dict[str, Path]:
    """mountPath -> local directory for the container's mounts of mapped claims (the
    subPath a folder under the claim's directory, made if missing, as the kubelet does)."""
    volumes = {
        v.get("name"): (v.get("persistentVolumeClaim") or {}).get("claimName")
        for v in pod.get("spec", {}).get("volumes") or []
    }
    out: dict[str, Path] = {}
    for mount in container.get("volumeMounts") or ():
        claim = volumes.get(mount.get("name"))
        if claim not in claims:
            continue
        sub = str(mount.get("subPath") or "")
        if ".." in Path(sub).parts or sub.startswith("/"):
            continue  # the real kubelet refuses such a subPath; the pod gets nothing here
        local = claims[claim] / sub
        local.mkdir(parents=True, exist_ok=True)
        out[str(mount["mountPath"]).rstrip("/")] = local
    return out


def redirect_mounts(
    env: dict[str, str], words: list[str], mounts: dict[str, Path]
) -> tuple[dict[str, str], list[str]]:
    """Env values and args at or under a mount's path, pointed to its local directory."""

    def local(text: str) -> str:
        for path, target in mounts.items():
            if text == path or text.startswith(path + "/"):
                return str(target) + text[len(path) :]
        return text

    return {k: local(v) for k, v in env.items()}, [local(w) for w in words]


def termination_message(container: Obj, path: Path, log_text: str, failed: bool) -> str:
    """The message for `state.terminated`: the file (4 KiB max), or the log tail on error."""
    message = ""
    if path.exists():
        message = path.read_bytes()[:4096].decode("utf-8", "replace")
    policy = container.get("terminationMessagePolicy", "File")
    if not message and failed and policy == "FallbackToLogsOnError":
        tail = "".join(log_text.splitlines(keepends=True)[-80:])
        message = tail[-2048:]
    return message


def kill_group(process: subprocess.Popen[bytes], grace: float) -> threading.Thread | None:
    """SIGTERM the process group (SIGKILL when `grace` <= 0); a background thread sends
    SIGKILL after `grace` seconds if it still runs. Returns that thread, if any."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL if grace <= 0 else signal.SIGTERM)
    if grace <= 0:
        return None

    def escalate() -> None:
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    killer = threading.Thread(target=escalate, daemon=True)
    killer.start()
    return killer

"""Where trial pods store artifacts, and the one function that gives a pod that storage.

The chart provides either a PersistentVolumeClaim (`artifacts.persistentVolumeClaim`: the
operator's setting is the claim's name) or a folder of an S3-compatible bucket
(`artifacts.s3`: an `ArtifactBucket`). `add_artifact_storage` gives one container of a pod
spec its folder of that store: for a claim, a mount with that folder as subPath and
``TRADEOFF_ARTIFACTS``; for a bucket, ``TRADEOFF_ARTIFACTS_S3_URL`` (the folder under
``<prefix><namespace>/``), the endpoint and region, and the credentials as `secretKeyRef`s to
the Secret the chart names (never their values). Trial pods, the Ensemble pod and the pods
of other workloads all go through it. `storage_problems` is the policy check: a template
may not reach the store on its own nor set what the operator sets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from trial_runner.s3 import ENV_ENDPOINT, ENV_REGION, ENV_URL

__all__ = [
    "ARTIFACTS_PATH",
    "ARTIFACTS_VOLUME",
    "CREDENTIAL_KEYS",
    "ArtifactBucket",
    "ArtifactStore",
    "add_artifact_storage",
    "bucket_from_env",
    "recorded_root",
    "storage_problems",
]

ARTIFACTS_VOLUME = "tradeoff-artifacts"
ARTIFACTS_PATH = "/tradeoff/artifacts"
"""Where a pod finds its artifact folder of the claim (``TRADEOFF_ARTIFACTS``)."""
ENV_FOLDER = "TRADEOFF_ARTIFACTS"
CREDENTIAL_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
"""The keys of the credentials Secret, passed to the pod as env variables of these names."""
BUCKET_ENV = (ENV_URL, ENV_ENDPOINT, ENV_REGION, *CREDENTIAL_KEYS)
"""What the operator sets in a container for the bucket (a template may not)."""

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
_PREFIX = re.compile(r"([A-Za-z0-9!_.*'()-]+/)*\Z")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


@dataclass(frozen=True)
class ArtifactBucket:
    """A folder of an S3-compatible bucket for every trial's artifacts."""

    bucket: str
    prefix: str = ""
    """"" or folder names each ending with "/"; namespaces are folders under it."""
    endpoint: str | None = None
    """The store's URL where it is not AWS S3 (MinIO, Ceph, ...)."""
    region: str | None = None
    credentials_secret: str | None = None
    """Secret (in each trial's namespace) holding `CREDENTIAL_KEYS`; None: the pod's own
    identity (IRSA, workload identity) or the node's."""

    def folder_url(self, namespace: str, folder: str) -> str:
        """The URL of `folder` (names are DNS labels) of `namespace`, ending with "/"."""
        return f"s3://{self.bucket}/{self.prefix}{namespace}/{folder}/"


ArtifactStore = str | ArtifactBucket
"""A PersistentVolumeClaim's name, or a bucket."""


def bucket_from_env(env: Mapping[str, str]) -> ArtifactBucket | None:
    """The bucket in ``TRADEOFF_ARTIFACTS_S3_*`` (None without a bucket name); `ValueError`
    with one line naming the variable that is wrong."""
    name = env.get("TRADEOFF_ARTIFACTS_S3_BUCKET", "").strip()
    if not name:
        return None
    if not _BUCKET.match(name) or ".." in name:
        raise ValueError(
            f"TRADEOFF_ARTIFACTS_S3_BUCKET: {name!r} is not a bucket name (3 to 63 lowercase"
            " letters, digits, '.' and '-')"
        )
    prefix = env.get("TRADEOFF_ARTIFACTS_S3_PREFIX", "").strip().strip("/")
    prefix = f"{prefix}/" if prefix else ""
    if not _PREFIX.match(prefix) or any(p in (".", "..") for p in prefix.split("/")):
        raise ValueError(
            f"TRADEOFF_ARTIFACTS_S3_PREFIX: {prefix!r} is not a folder (names of letters,"
            " digits and !_.*'()- separated by /)"
        )
    endpoint = env.get(ENV_ENDPOINT, "").strip() or None
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError(f"{ENV_ENDPOINT}: {endpoint!r} is not an http(s) URL")
    secret = env.get("TRADEOFF_ARTIFACTS_S3_SECRET", "").strip() or None
    if secret is not None and (len(secret) > 253 or not _DNS_SUBDOMAIN.match(secret)):
        raise ValueError(
            f"TRADEOFF_ARTIFACTS_S3_SECRET: {secret!r} is not a Secret name (lowercase"
            " letters, digits, '-' and '.')"
        )
    region = env.get(ENV_REGION, "").strip() or None
    return ArtifactBucket(name, prefix, endpoint, region, secret)


def add_artifact_storage(
    spec: dict[str, Any],
    container: dict[str, Any],
    store: ArtifactStore,
    namespace: str,
    folder: str,
    *,
    read_only: bool = False,
) -> None:
    """Give `container` (a container of the pod `spec`) the artifact folder `folder` of
    `store` (for a bucket, under the namespace's folder). Replaces what the container said
    about those variables; `storage_problems` refuses templates that say anything."""
    names = {ENV_FOLDER, *BUCKET_ENV}
    env = [e for e in container.get("env") or [] if e.get("name") not in names]
    if isinstance(store, str):
        claim: dict[str, Any] = {"claimName": store, **({"readOnly": True} if read_only else {})}
        volume = {"name": ARTIFACTS_VOLUME, "persistentVolumeClaim": claim}
        spec["volumes"] = [*(spec.get("volumes") or []), volume]
        mount: dict[str, Any] = {
            "name": ARTIFACTS_VOLUME,
            "mountPath": ARTIFACTS_PATH,
            "subPath": folder,
        }
        if read_only:
            mount["readOnly"] = True
        container["volumeMounts"] = [*(container.get("volumeMounts") or []), mount]
        container["env"] = [*env, {"name": ENV_FOLDER, "value": ARTIFACTS_PATH}]
        return
    env.append({"name": ENV_URL, "value": store.folder_url(namespace, folder)})
    if store.endpoint:
        env.append({"name": ENV_ENDPOINT, "value": store.endpoint})
    if store.region:
        env.append({"name": ENV_REGION, "value": store.region})
    if store.credentials_secret:
        secret = store.credentials_secret
        env += [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}
            for key in CREDENTIAL_KEYS
        ]
    container["env"] = env


def recorded_root(pod_container: Mapping[str, Any]) -> str | None:
    """What the paths of an attempt's artifacts start with, from the container the operator
    gave storage: the bucket folder's URL, or the claim's subPath and "/"; None without."""
    for item in pod_container.get("env") or []:
        if item.get("name") == ENV_URL and isinstance(item.get("value"), str):
            return str(item["value"])
    for mount in pod_container.get("volumeMounts") or []:
        if mount.get("name") == ARTIFACTS_VOLUME:
            return f"{mount.get('subPath') or ''}/"
    return None


def storage_problems(spec: Mapping[str, Any], store: ArtifactStore) -> list[tuple[str, str]]:
    """Where a template reaches the store on its own: the claim or the artifact path
    (it would see every trial's files), or the variables the operator sets."""
    problems = []
    if isinstance(store, str):
        for i, volume in enumerate(spec.get("volumes") or []):
            if not isinstance(volume, dict):
                continue
            pvc = volume.get("persistentVolumeClaim") or {}
            if volume.get("name") == ARTIFACTS_VOLUME or pvc.get("claimName") == store:
                said = f"the artifact claim {store!r} is the operator's to mount"
                problems.append((f"spec.volumes[{i}]", said))
    for c, container in enumerate(spec.get("containers") or []):
        if isinstance(store, str):
            for m, mount in enumerate(container.get("volumeMounts") or []):
                if str(mount.get("mountPath", "")).rstrip("/").startswith(ARTIFACTS_PATH):
                    problems.append(
                        (
                            f"spec.containers[{c}].volumeMounts[{m}]",
                            f"{ARTIFACTS_PATH} is where the operator mounts the trial's artifacts",
                        )
                    )
            continue
        for e, item in enumerate(container.get("env") or []):
            if isinstance(item, dict) and item.get("name") in BUCKET_ENV:
                problems.append(
                    (
                        f"spec.containers[{c}].env[{e}]",
                        f"{item['name']} is the operator's to set (the artifact bucket)",
                    )
                )
    return problems

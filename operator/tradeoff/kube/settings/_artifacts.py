"""Where trial artifacts go: a PersistentVolumeClaim (`TRADEOFF_ARTIFACTS_CLAIM`) or a
bucket (`TRADEOFF_ARTIFACTS_S3_*`), never both."""

from __future__ import annotations

import re
from collections.abc import Mapping

from tradeoff.kube.artifact_storage import ArtifactBucket, bucket_from_env
from tradeoff.kube.settings._model import SettingsError

_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


def artifacts_claim_from(env: Mapping[str, str]) -> str | None:
    """`TRADEOFF_ARTIFACTS_CLAIM`, checked to be a claim's name; None if unset."""
    claim = env.get("TRADEOFF_ARTIFACTS_CLAIM", "").strip()
    if not claim:
        return None
    if not _DNS_SUBDOMAIN.match(claim) or len(claim) > 253:
        raise SettingsError(
            f"TRADEOFF_ARTIFACTS_CLAIM: {claim!r} is not a PersistentVolumeClaim name"
            " (lowercase letters, digits, '-' and '.')"
        )
    return claim


def artifacts_bucket_from(env: Mapping[str, str], claim: str | None) -> ArtifactBucket | None:
    """`TRADEOFF_ARTIFACTS_S3_*` as a bucket; an error if a claim is configured as well."""
    try:
        bucket = bucket_from_env(env)
    except ValueError as error:
        raise SettingsError(str(error)) from None
    if bucket is not None and claim:
        raise SettingsError(
            "TRADEOFF_ARTIFACTS_CLAIM and TRADEOFF_ARTIFACTS_S3_BUCKET exclude each other:"
            " artifacts go to a claim or to a bucket"
        )
    return bucket

"""Artifacts in an S3-compatible bucket: the upload ``save_artifact`` does in a cluster
whose chart sets ``artifacts.s3``, and the checked download the Ensemble trial does.

The operator gives each attempt its own folder of the bucket in ``TRADEOFF_ARTIFACTS_S3_URL``
(``s3://BUCKET/PREFIX/<namespace>/<study>/<trial>/a<attempt>/``), the endpoint of a
non-AWS store in ``TRADEOFF_ARTIFACTS_S3_ENDPOINT`` and the region in
``TRADEOFF_ARTIFACTS_S3_REGION``; credentials come the way boto3 finds them
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` from the chart's Secret, or the pod's
workload identity). boto3 is imported only here and only when a bucket is in use, so the
rest of ``trial_runner`` stays standard-library only.

A file is uploaded as it is read (multipart above ``PART_BYTES``, at most
``PARTS_IN_MEMORY`` parts held at once), and its SHA-256 is computed from the very bytes
sent: memory does not grow with the file.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

__all__ = [
    "ENV_ENDPOINT",
    "ENV_REGION",
    "ENV_URL",
    "PARTS_IN_MEMORY",
    "PART_BYTES",
    "S3Error",
    "S3Folder",
    "Uploaded",
    "client",
    "fetch_checked",
    "upload",
]

ENV_URL = "TRADEOFF_ARTIFACTS_S3_URL"
ENV_ENDPOINT = "TRADEOFF_ARTIFACTS_S3_ENDPOINT"
ENV_REGION = "TRADEOFF_ARTIFACTS_S3_REGION"
PART_BYTES = 8 << 20
"""Size of one multipart part (S3's minimum is 5 MiB)."""
PARTS_IN_MEMORY = 2
"""Parts read ahead of the upload at most: the memory an upload takes is about
``PART_BYTES * (PARTS_IN_MEMORY + 1)`` whatever the file's size."""

_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/((?:[A-Za-z0-9!_.*'()-]+/)*)\Z")


class S3Error(RuntimeError):
    """The bucket cannot be used; the message is one line saying why."""


@dataclass(frozen=True)
class S3Folder:
    """A folder of a bucket: ``s3://bucket/prefix`` (the prefix ends with ``/`` or is "")."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, url: str, where: str = ENV_URL) -> S3Folder:
        """The folder a URL names, or `S3Error` naming `where` (no ``..``, no empty part)."""
        match = _URL.match(url)
        if match is None or ".." in match[1] or any(p in (".", "..") for p in match[2].split("/")):
            raise S3Error(
                f"{where}: {url!r} is not s3://BUCKET/FOLDER/ (a bucket name, then folder"
                " names of letters, digits and !_.*'()- each ending with /)"
            )
        return cls(match[1], match[2])

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"


@dataclass(frozen=True)
class Uploaded:
    """What was stored: the object's URL, its size and the SHA-256 of its content."""

    url: str
    size: int
    sha256: str


def client(env: Mapping[str, str] | None = None) -> Any:
    """A boto3 S3 client for the endpoint and region in the environment (boto3 finds the
    credentials itself), made once per endpoint and region in a process; `S3Error` when
    boto3 is not installed."""
    try:
        import boto3  # imported only where a bucket is used
    except ImportError:
        raise S3Error(
            f"{ENV_URL} is set but boto3 is not installed: pip install 'tradeoff[s3]'"
            " (or boto3) in the trial's image"
        ) from None
    env = os.environ if env is None else env
    return _client(boto3, env.get(ENV_ENDPOINT) or None, env.get(ENV_REGION) or None)


@functools.lru_cache(maxsize=4)
def _client(boto3: Any, endpoint: str | None, region: str | None) -> Any:
    from botocore.config import Config

    config = Config(retries={"max_attempts": 5, "mode": "standard"})
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)


class _HashingReader(io.RawIOBase):
    """Reads `source` once, in order, hashing each byte handed on (no seek: the upload
    reads it part after part instead of reopening the file)."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        chunk = self._source.read(-1 if size is None else size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


def upload(name: str, content: bytes | str | os.PathLike[str], url: str) -> Uploaded:
    """Store `content` (bytes, or the file a path names) as `name` in the folder `url`;
    `S3Error` with one line when the bucket refuses or cannot be reached."""
    folder = S3Folder.parse(url)
    s3 = client()
    from boto3.s3.transfer import TransferConfig

    transfer = TransferConfig(
        multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=2
    )
    # s3transfer's own setting (boto3's constructor does not take it): the parts of a
    # stream read ahead of the upload.
    transfer.max_in_memory_upload_chunks = PARTS_IN_MEMORY
    key = folder.prefix + name
    if isinstance(content, bytes | bytearray | memoryview):
        source: BinaryIO = io.BytesIO(content)
    else:
        source = Path(content).open("rb")  # noqa: SIM115 (closed below)
    with source:
        reader = _HashingReader(source)
        try:
            s3.upload_fileobj(reader, folder.bucket, key, Config=transfer)
        except Exception as error:  # botocore's and s3transfer's errors have no common base
            raise S3Error(f"cannot upload {name!r} to {folder.url(name)}: {_said(error)}") from None
    return Uploaded(folder.url(name), reader.size, reader.digest.hexdigest())


def fetch_checked(
    s3: Any, folder: S3Folder, key: str, size: int, sha256: str, limit: int
) -> bytes | str:
    """The object `key` under `folder` if it has the recorded `size` and `sha256` and is at
    most `limit` bytes, else one line saying why it cannot be used."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return f"{key!r} is not a path under {folder.url()}"
    if size > limit:
        return f"{key} is over {limit >> 20} MiB"
    try:
        body = s3.get_object(Bucket=folder.bucket, Key=folder.prefix + key)["Body"]
        try:
            content = bytes(body.read(limit + 1))
        finally:
            body.close()
    except Exception as error:  # botocore's errors have no common base
        return f"cannot read {folder.url(key)}: {_said(error)}"
    if len(content) != size or hashlib.sha256(content).hexdigest() != sha256:
        return f"{folder.url(key)} changed since the trial saved it"
    return content


def _said(error: Exception) -> str:
    """An S3 error in one line: the service's code and message where there is one."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        detail = response["Error"]
        return f"{detail.get('Code', 'Error')}: {detail.get('Message') or type(error).__name__}"
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__

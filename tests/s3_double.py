"""Test double of an S3-compatible store: moto's standalone server on loopback.

`s3_server` (one per test process) serves the S3 API on 127.0.0.1 at a free port, in a
process of its own (what it stores is not counted in the test's memory); `bucket`
makes a fresh bucket for each test and gives the environment a trial (or the operator's
pods) needs to reach it. Any access key works: moto checks none.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

__all__ = ["FAKE_KEYS", "S3Double", "bucket", "s3_server"]

FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "test-double-key", "AWS_SECRET_ACCESS_KEY": "test-double-secret"}
REGION = "us-east-1"
_numbers = itertools.count()


@dataclass(frozen=True)
class S3Double:
    endpoint: str
    name: str
    client: Any

    @property
    def env(self) -> dict[str, str]:
        """What a process needs to reach the bucket (its folder URL comes on top)."""
        return {
            "TRADEOFF_ARTIFACTS_S3_ENDPOINT": self.endpoint,
            "TRADEOFF_ARTIFACTS_S3_REGION": REGION,
            **FAKE_KEYS,
        }

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name).get("Contents") or []
        return sorted(str(o["Key"]) for o in listed)

    def read(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())


_SERVE = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print("%s:%d" % server.get_host_and_port(), flush=True)
sys.stdin.read()  # serve until the test process closes the pipe
"""


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    address = server.stdout.readline().strip()
    try:
        assert address, "moto's server did not start"
        yield f"http://{address}"
    finally:
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def bucket(s3_server: str) -> S3Double:
    name = f"tradeoff-test-{os.getpid()}-{next(_numbers)}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=REGION,
        aws_access_key_id=FAKE_KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_KEYS["AWS_SECRET_ACCESS_KEY"],
    )
    client.create_bucket(Bucket=name)
    return S3Double(s3_server, name, client)

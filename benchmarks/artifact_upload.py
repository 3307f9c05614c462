"""What `trial_runner.save_artifact` costs the trial: a claim's folder against a bucket.

For each file size, in one run and side by side, a fresh process saves one file of that
size with `save_artifact`, once into a folder (what a trial does on the chart's claim) and
once into a bucket (moto's S3 server on loopback, in a process of its own, as the S3
double). Each save is measured in the saving process: CPU time (user + system, of every
thread; median of the repeats) and the peak of Python's traced memory (`tracemalloc`,
largest of the repeats) during the save. A one-byte save comes first and is measured
apart ("first save"): for a bucket it imports boto3 and makes the client, once per
process. The file lies in the page cache (written just before), so the figures are the
client's own work; the server's work is not counted.

    nice python benchmarks/artifact_upload.py [--quick] [--sizes 8,64,256]

prints a table and writes ``benchmarks/results/artifact_upload.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c

ROOT = c.BENCH_DIR.parent

_SAVE = """
import json, os, resource, sys, tracemalloc
import trial_runner

def cpu():
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime

path = sys.argv[1]
first = cpu()
trial_runner.save_artifact("first.txt", b"x")  # a bucket: imports boto3, makes the client
tracemalloc.start()
before = cpu()
trial_runner.save_artifact("model.bin", path)
after = cpu()
_, peak = tracemalloc.get_traced_memory()
result = {"first_save_cpu_seconds": before - first, "cpu_seconds": after - before,
          "peak_mib": peak / 2**20}
print(json.dumps(result), file=sys.stderr)
"""

_SERVE = """
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print("%s:%d" % server.get_host_and_port(), flush=True)
sys.stdin.read()
"""

KEYS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def save(path: Path, env: dict[str, str]) -> dict[str, float]:
    """One save in a fresh process; its CPU time and traced peak."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("TRADEOFF_ARTIFACTS")}
    pythonpath = os.pathsep.join([str(ROOT), str(ROOT / "operator")])
    done = subprocess.run(
        [sys.executable, "-c", _SAVE, str(path)],
        env={**base, "PYTHONPATH": pythonpath, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, float] = json.loads(done.stderr.strip().splitlines()[-1])
    return measured


def main(argv: Sequence[str] | None = None) -> int:
    def extra(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--sizes", default="8,64,256", help="file sizes in MiB")
        parser.add_argument("--repeats", type=int, default=3, help="saves per size and store")

    args = c.parse_args(argv, "save_artifact: a claim's folder against a bucket", extra)
    sizes = [1, 16] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 1 if args.quick else args.repeats

    import boto3

    server = subprocess.Popen(
        [sys.executable, "-c", _SERVE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    endpoint = f"http://{server.stdout.readline().strip()}"
    rows: list[dict[str, Any]] = []
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **{
            "aws_access_key_id": KEYS["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": KEYS["AWS_SECRET_ACCESS_KEY"],
        })  # fmt: skip
        s3.create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory(prefix="artifact-bench-") as tmp:
            work = Path(tmp)
            for mib in sizes:
                source = work / f"{mib}.bin"
                with source.open("wb") as file:
                    for i in range(mib):
                        file.write(os.urandom(1 << 16) * 16 if i % 2 else bytes([i % 251]) * 2**20)
                folder = work / "claim"
                folder.mkdir(exist_ok=True)
                bucket_env = {
                    "TRADEOFF_ARTIFACTS_S3_URL": "s3://bench/runs/",
                    "TRADEOFF_ARTIFACTS_S3_ENDPOINT": endpoint,
                    "TRADEOFF_ARTIFACTS_S3_REGION": "us-east-1",
                    **KEYS,
                }
                for repeat in range(repeats):
                    for store, env in (("claim", {"TRADEOFF_ARTIFACTS": str(folder)}),
                                       ("bucket", bucket_env)):  # fmt: skip
                        measured = save(source, env)
                        rows.append({"size_mib": mib, "store": store, "repeat": repeat,
                                     **measured})  # fmt: skip
                source.unlink()
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    summary, table = [], []
    for mib in sizes:
        for store in ("claim", "bucket"):
            mine = [r for r in rows if r["size_mib"] == mib and r["store"] == store]
            cpu = sorted(r["cpu_seconds"] for r in mine)[len(mine) // 2]
            first = sorted(r["first_save_cpu_seconds"] for r in mine)[len(mine) // 2]
            peak = max(r["peak_mib"] for r in mine)
            summary.append({"size_mib": mib, "store": store, "cpu_seconds": cpu,
                            "peak_mib": peak, "first_save_cpu_seconds": first})  # fmt: skip
            table.append([mib, store, f"{cpu:.3f}", f"{peak:.1f}", f"{first:.3f}"])
    headers = ["MiB", "store", "CPU s of the save", "peak traced MiB", "first save CPU s"]
    c.print_table("save_artifact, median CPU and largest peak of the repeats", headers, table)
    c.write_results(args.out, "artifact_upload", {"repeats": repeats, "summary": summary,
                                                  "runs": rows})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

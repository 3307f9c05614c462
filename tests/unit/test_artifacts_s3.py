"""`trial_runner.save_artifact` into a bucket (moto's server on loopback as the S3 double)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

import trial_runner
from tests.s3_double import S3Double, bucket, s3_server
from trial_runner import s3
from trial_runner.s3 import S3Error, S3Folder

__all__ = ["bucket", "s3_server"]

FOLDER = "runs/default/quick/quick-0001/a2/"


@pytest.fixture
def trial_env(bucket: S3Double, monkeypatch: pytest.MonkeyPatch) -> S3Double:
    for name, value in bucket.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TRADEOFF_ARTIFACTS_S3_URL", f"s3://{bucket.name}/{FOLDER}")
    monkeypatch.delenv("TRADEOFF_ARTIFACTS", raising=False)
    return bucket


def artifact_lines(out: str) -> list[dict[str, object]]:
    prefix = trial_runner.ARTIFACT_PREFIX + " "
    return [json.loads(line[len(prefix) :]) for line in out.splitlines() if line.startswith(prefix)]


def test_bytes_and_files_are_uploaded_and_the_line_names_url_size_and_sha256(
    trial_env: S3Double, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"s3://{trial_env.name}/{FOLDER}"
    assert trial_runner.save_artifact("model.bin", b"\x00weights") == url + "model.bin"
    source = tmp_path / "preds.csv"
    source.write_text("index,y\n0,1\n")
    assert trial_runner.save_artifact("predictions.csv", source) == url + "predictions.csv"
    assert trial_env.keys() == [FOLDER + "model.bin", FOLDER + "predictions.csv"]
    assert trial_env.read(FOLDER + "predictions.csv") == b"index,y\n0,1\n"
    assert artifact_lines(capsys.readouterr().out) == [
        {
            "name": "model.bin",
            "size": 8,
            "sha256": hashlib.sha256(b"\x00weights").hexdigest(),
            "url": url + "model.bin",
        },
        {
            "name": "predictions.csv",
            "size": 12,
            "sha256": hashlib.sha256(b"index,y\n0,1\n").hexdigest(),
            "url": url + "predictions.csv",
        },
    ]
    assert not list(tmp_path.glob(".*"))  # nothing written locally on the way


def test_a_big_file_goes_up_in_parts_without_being_read_whole(
    trial_env: S3Double, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "model.bin"
    size = 6 * s3.PART_BYTES + 12345
    digest = hashlib.sha256()
    with source.open("wb") as file:
        for i in range(size // (1 << 20) + 1):
            block = bytes([i % 251]) * min(1 << 20, size - i * (1 << 20))
            digest.update(block)
            file.write(block)
    tracemalloc.start()
    try:
        trial_runner.save_artifact("model.bin", source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # At most a few parts in memory at once, far below the file's size.
    assert peak < (s3.PARTS_IN_MEMORY + 2) * s3.PART_BYTES < size
    (line,) = artifact_lines(capsys.readouterr().out)
    assert line["size"] == size and line["sha256"] == digest.hexdigest()
    head = trial_env.client.head_object(Bucket=trial_env.name, Key=FOLDER + "model.bin")
    assert head["ContentLength"] == size
    assert head["ETag"].strip('"').endswith("-7")  # a multipart upload of 7 parts


def test_without_boto3_the_error_is_one_line_saying_what_to_install(
    trial_env: S3Double, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import boto3 now fails
    with pytest.raises(S3Error) as failed:
        trial_runner.save_artifact("model.bin", b"x")
    assert str(failed.value) == (
        "TRADEOFF_ARTIFACTS_S3_URL is set but boto3 is not installed: pip install"
        " 'tradeoff[s3]' (or boto3) in the trial's image"
    )


@pytest.mark.parametrize(
    "url",
    [
        "s3://Bad_Bucket/x/",
        "https://bucket/x/",
        "s3://bucket/x",  # a folder ends with /
        "s3://bucket/a/../b/",
        "s3://bucket//x/",
        "s3://bucket/sp ace/",
    ],
)
def test_a_url_that_is_not_a_bucket_folder_is_refused_in_one_line(
    trial_env: S3Double, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("TRADEOFF_ARTIFACTS_S3_URL", url)
    with pytest.raises(S3Error) as failed:
        trial_runner.save_artifact("model.bin", b"x")
    message = str(failed.value)
    assert message.startswith(f"TRADEOFF_ARTIFACTS_S3_URL: {url!r} is not s3://BUCKET/FOLDER/")
    assert "\n" not in message


def test_a_bucket_that_does_not_exist_is_one_line_from_the_service(
    trial_env: S3Double, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEOFF_ARTIFACTS_S3_URL", "s3://no-such-bucket/x/")
    with pytest.raises(S3Error) as failed:
        trial_runner.save_artifact("model.bin", b"x")
    assert str(failed.value).startswith(
        "cannot upload 'model.bin' to s3://no-such-bucket/x/model.bin: NoSuchBucket: "
    )
    assert "\n" not in str(failed.value)
    assert artifact_lines(capsys.readouterr().out) == []  # nothing recorded


def test_a_bad_name_is_refused_before_anything_is_sent(trial_env: S3Double) -> None:
    with pytest.raises(ValueError, match="must be a file name"):
        trial_runner.save_artifact("../escape", b"x")
    assert trial_env.keys() == []


def test_fetch_checked_gives_the_content_only_as_recorded(trial_env: S3Double) -> None:
    folder = S3Folder.parse(f"s3://{trial_env.name}/runs/default/quick/")
    trial_runner.save_artifact("predictions.csv", b"index,y\n0,1\n")
    key = "quick-0001/a2/predictions.csv"
    good = hashlib.sha256(b"index,y\n0,1\n").hexdigest()
    client = s3.client()
    assert s3.fetch_checked(client, folder, key, 12, good, 100) == b"index,y\n0,1\n"
    changed = s3.fetch_checked(client, folder, key, 12, "0" * 64, 100)
    assert changed == f"{folder.url(key)} changed since the trial saved it"
    assert s3.fetch_checked(client, folder, key, 12, good, 10) == f"{key} is over 0 MiB"
    assert s3.fetch_checked(client, folder, "../other/x", 1, good, 100) == (
        f"'../other/x' is not a path under {folder.url()}"
    )
    missing = s3.fetch_checked(client, folder, "quick-0009/a1/x.csv", 1, good, 100)
    assert isinstance(missing, str) and missing.startswith(
        f"cannot read {folder.url('quick-0009/a1/x.csv')}: NoSuchKey: "
    )


def test_the_built_in_workload_ends_with_one_line_when_the_bucket_refuses(
    trial_env: S3Double, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from trial_runner import sklearn

    monkeypatch.setenv("TRADEOFF_ARTIFACTS_S3_URL", "s3://no-such-bucket/x/")
    assert sklearn.main(["--dataset=iris", "--model=knn"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(
        "trial_runner.sklearn: error: cannot upload 'predictions.csv' to"
        " s3://no-such-bucket/x/predictions.csv: NoSuchBucket: "
    )
    assert err.count("\n") == 1


def test_trial_runner_and_its_bucket_module_import_only_the_standard_library() -> None:
    code = (
        "import sys; import trial_runner, trial_runner.s3; "
        "names = {m.split('.')[0] for m in sys.modules} - {'__main__'}; "
        "print(sorted(names - set(sys.stdlib_module_names)))"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-S", "-c", code],  # -S: no site-packages at all
        env={"PYTHONPATH": str(root), "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "['trial_runner']"

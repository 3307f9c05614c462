"""Artifacts: `trial_runner.save_artifact`, what the executor records, and the lifecycle."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

import trial_runner
from tests.factories import make_spec
from tradeoff.api.trial import Artifact, TrialStatus
from tradeoff.engine import AttemptOutcome, lifecycle
from tradeoff.local.artifacts import MAX_ARTIFACTS, collect, fresh_folder, prepare


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "artifacts" / "s-0000"
    out.mkdir(parents=True)
    monkeypatch.setenv("TRADEOFF_ARTIFACTS", str(out))
    return out


def test_bytes_and_files_are_stored_under_their_name(folder: Path, tmp_path: Path) -> None:
    assert trial_runner.save_artifact("model.bin", b"\x00weights") == folder / "model.bin"
    source = tmp_path / "preds.csv"
    source.write_text("index,y\n0,1\n")
    assert trial_runner.save_artifact("predictions.csv", source) == folder / "predictions.csv"
    assert trial_runner.save_artifact("copy.csv", str(source)) == folder / "copy.csv"
    assert (folder / "model.bin").read_bytes() == b"\x00weights"
    assert (folder / "predictions.csv").read_text() == "index,y\n0,1\n"
    # Saving a name again replaces it; no temporary file stays behind.
    trial_runner.save_artifact("model.bin", b"v2")
    assert (folder / "model.bin").read_bytes() == b"v2"
    assert sorted(p.name for p in folder.iterdir()) == ["copy.csv", "model.bin", "predictions.csv"]


@pytest.mark.parametrize("name", ["", ".hidden", "../escape", "a/b", "x" * 201, "sp ace"])
def test_a_name_that_is_not_a_plain_file_name_is_refused(folder: Path, name: str) -> None:
    with pytest.raises(ValueError, match="must be a file name"):
        trial_runner.save_artifact(name, b"x")
    assert list(folder.iterdir()) == []


def test_a_missing_source_file_leaves_nothing_behind(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        trial_runner.save_artifact("model.bin", tmp_path / "nope")
    assert list(folder.iterdir()) == []


def test_without_an_artifact_folder_nothing_is_stored_and_stderr_says_so_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRADEOFF_ARTIFACTS", raising=False)
    monkeypatch.setattr(trial_runner, "_artifact_warned", False)
    assert trial_runner.save_artifact("a.csv", b"1") is None
    assert trial_runner.save_artifact("b.csv", b"2") is None
    assert capsys.readouterr().err == (
        "trial_runner: artifact 'a.csv' not stored: this trial has no artifact folder"
        " (TRADEOFF_ARTIFACTS is unset)\n"
    )


def test_collect_records_name_path_size_and_sha256(tmp_path: Path) -> None:
    folder = tmp_path / "artifacts" / "s-0001"
    prepare(folder)
    (folder / "b.txt").write_bytes(b"hello")
    (folder / "a.bin").write_bytes(b"\x01" * 3_000_000)  # more than one read chunk
    (folder / "link").symlink_to(folder / "b.txt")
    (folder / "sub").mkdir()
    (folder / ".a.bin.tmp").write_bytes(b"half")  # save_artifact's temporary file
    found, problems = collect(folder, tmp_path)
    assert found == [
        Artifact(
            name="a.bin",
            path="artifacts/s-0001/a.bin",
            size=3_000_000,
            sha256=hashlib.sha256(b"\x01" * 3_000_000).hexdigest(),
        ),
        Artifact(
            name="b.txt",
            path="artifacts/s-0001/b.txt",
            size=5,
            sha256=hashlib.sha256(b"hello").hexdigest(),
        ),
    ]
    assert problems == [
        "artifact 'link' is not a regular file: not recorded",
        "artifact 'sub' is not a regular file: not recorded",
    ]


def test_collect_records_a_bounded_number(tmp_path: Path) -> None:
    for i in range(MAX_ARTIFACTS + 5):
        (tmp_path / f"f{i:03d}").write_bytes(b"x")
    found, problems = collect(tmp_path, tmp_path)
    assert len(found) == MAX_ARTIFACTS
    assert problems == [f"more than {MAX_ARTIFACTS} artifacts: the rest are not recorded"]


def test_prepare_empties_the_folder_of_an_earlier_attempt(tmp_path: Path) -> None:
    (tmp_path / "old.txt").write_text("attempt 1")
    prepare(tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert collect(tmp_path / "missing", tmp_path) == ([], [])


def test_the_trial_keeps_the_artifacts_of_its_final_attempt() -> None:
    spec = make_spec(
        trialTemplate={"retries": 1, "pod": {"containers": [{"name": "t", "command": ["true"]}]}}
    )
    saved = Artifact(name="m", path="artifacts/t/m", size=1, sha256="0" * 64)
    status = lifecycle.begin_attempt(TrialStatus())
    ended = lifecycle.end_attempt(
        spec, status, AttemptOutcome(exit_code=1, artifacts=[saved]), now=_now()
    )
    assert ended.retry and ended.status.artifacts == [saved]
    again = lifecycle.begin_attempt(ended.status)
    assert again.artifacts == []  # the next attempt starts without the failed one's files
    names = spec.objective_names
    done = lifecycle.end_attempt(
        spec,
        again,
        AttemptOutcome(exit_code=0, metrics=dict.fromkeys(names, 0.5), artifacts=[saved]),
        now=_now(),
    )
    assert done.status.state == "Succeeded" and done.status.artifacts == [saved]


def _now() -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC)


def test_a_fresh_folder_is_made_or_emptied(tmp_path: Path) -> None:
    made = tmp_path / "a" / "b"
    fresh_folder(made)  # parents too
    (made / "old.bin").write_bytes(b"x")
    (made / "sub").mkdir()
    fresh_folder(made)  # a retried attempt: emptied
    assert made.is_dir() and list(made.iterdir()) == []

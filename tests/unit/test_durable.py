"""Trial records reach the disk in the background, and all of them before a run ends."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tradeoff.api.trial import Trial
from tradeoff.local.durable import Flusher
from tradeoff.local.store import FileStore


def _watch_fsync(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths fsynced from now on (resolved through /proc/self/fd)."""
    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(str(Path(f"/proc/self/fd/{fd}").readlink()))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return synced


def test_wait_returns_once_every_added_file_and_its_folder_are_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _watch_fsync(monkeypatch)
    flusher = Flusher()
    paths = [tmp_path / f"r{i}.json" for i in range(20)]
    for path in paths:
        path.write_text("{}\n")
        flusher.add(path)
    flusher.wait()
    assert {str(p) for p in paths} <= set(synced)
    assert str(tmp_path) in synced
    flusher.add(tmp_path / "gone.json")  # a file removed meanwhile is skipped, not an error
    flusher.wait()


def test_saved_records_are_renamed_at_once_and_on_disk_after_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path / "w")
    store.trials_dir.mkdir(parents=True)
    synced = _watch_fsync(monkeypatch)
    record = Trial.new("durable", 0, {"x": 0.5})
    store.save_trial(record)
    path = store.trial_path(record.metadata.name)
    assert [r.metadata.name for r in store.load_trials()] == [record.metadata.name]
    store.sync()
    assert str(path) in synced and str(store.trials_dir) in synced
    assert not [p for p in store.trials_dir.iterdir() if p.name.endswith(".tmp")]


def test_a_burst_of_records_is_flushed_in_one_pass_and_wait_does_not_sit_out_the_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _watch_fsync(monkeypatch)
    flusher = Flusher(seconds=30.0)
    paths = [tmp_path / f"r{i}.json" for i in range(50)]
    for path in paths:
        path.write_text("{}\n")
        flusher.add(path)
    started = time.monotonic()
    flusher.wait()
    assert time.monotonic() - started < 10.0  # not the 30 s a pass gathers for
    assert flusher.passes == 1
    assert {str(p) for p in paths} <= set(synced)
    assert synced.count(str(tmp_path)) == 1  # the folder once, not once per record

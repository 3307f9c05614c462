"""tradeoff.local.store: records round trip, atomic writes, corrupt files, resume checks."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradeoff.api import AlgorithmChoice, Study, Trial
from tradeoff.api.economics import TrialEconomics
from tradeoff.api.trial import StepValue
from tradeoff.engine.validation import validate_study
from tradeoff.local.store import (
    FileStore,
    StoreError,
    WorkdirBusy,
    WorkdirLock,
    default_workdir,
    write_atomically,
)


def _study(**spec_changes: Any) -> Study:
    document: dict[str, Any] = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "store-test"},
        "spec": {
            "objectives": [{"name": "accuracy", "direction": "maximize"}],
            "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
            "algorithm": {"name": "random", "seed": 3},
            "budget": {"maxTrials": 4},
            "trialTemplate": {
                "pod": {"containers": [{"name": "t", "command": ["python", "-c", "pass"]}]}
            },
        },
    }
    document["spec"].update(spec_changes)
    return validate_study(document)


def _record(number: int, state: str = "Succeeded") -> Trial:
    record = Trial.new("store-test", number, {"x": number / 10, "kind": "a"}, {"trial": {"k": 1}})
    record.status.state = state  # type: ignore[assignment]
    record.status.attempts = 1
    record.status.start_time = datetime(2026, 1, 1, tzinfo=UTC)
    record.status.metrics = {"accuracy": 0.5 + number / 100}
    record.status.values = [0.5 + number / 100]
    record.status.intermediate = [StepValue(step=1, value=0.4)]
    record.status.pruning_state = {"completed_rung_0": 0.4}
    record.status.economics = TrialEconomics(
        duration_seconds=2.0,
        cpu_seconds=1.5,
        energy_kwh=1e-6,
        carbon_grams=5e-4,
        cost_usd=2e-5,
        source="measured",
        vcpu=1.0,
        memory_gib=0.5,
        grams_per_kwh=475.0,
    )
    return record


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "w")
    store.open(_study())
    records = [_record(1), _record(0, "Running"), _record(2, "Failed")]
    for record in records:
        store.save_trial(record)
    loaded = store.load_trials()
    assert [r.number for r in loaded] == [0, 1, 2]
    assert loaded == sorted(records, key=lambda r: r.number)
    on_disk = json.loads((tmp_path / "w/trials/store-test-0001.json").read_text())
    assert on_disk["apiVersion"] == "tradeoff.dev/v1alpha1"
    assert on_disk["status"]["economics"]["costUSD"] == 2e-5  # camelCase on disk
    assert on_disk["spec"]["samplerState"] == {"trial": {"k": 1}}


def test_save_replaces_the_record_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    record = _record(0, "Running")
    store.save_trial(record)
    record.status.state = "Succeeded"
    store.save_trial(record)
    assert [r.state for r in store.load_trials()] == ["Succeeded"]
    assert sorted(p.name for p in store.trials_dir.iterdir()) == ["store-test-0000.json"]


def test_a_failed_write_keeps_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "record.json"
    write_atomically(path, "old\n")

    def broken_replace(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomically(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_a_failed_record_write_keeps_the_old_record_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    record = _record(0, "Running")
    store.save_trial(record)
    record.status.state = "Succeeded"

    def broken_write(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", broken_write)
    with pytest.raises(StoreError, match=r"cannot write the record \(No space left on device\)"):
        store.save_trial(record)
    monkeypatch.undo()
    assert [r.state for r in store.load_trials()] == ["Running"]
    assert sorted(p.name for p in store.trials_dir.iterdir()) == ["store-test-0000.json"]


def test_a_record_is_saved_even_if_its_folder_went(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    store.trials_dir.rmdir()
    store.save_trial(_record(1))
    assert [r.number for r in store.load_trials()] == [1]
    assert oct(store.trial_path("store-test-0001").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    "content",
    ['{"apiVersion": "tradeoff.dev/v1alpha1", "kind": "Trial", "metada', "[]", "", "\x00\x01"],
)
def test_a_corrupt_record_is_one_line_naming_the_file(tmp_path: Path, content: str) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    store.save_trial(_record(0))
    bad = store.trials_dir / "store-test-0001.json"
    bad.write_text(content)
    with pytest.raises(StoreError) as error:
        store.load_trials()
    message = str(error.value)
    assert str(bad) in message
    assert "\n" not in message
    assert "not a valid trial record" in message


def test_a_record_under_the_wrong_file_name_is_refused(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    store.save_trial(_record(3))
    (store.trials_dir / "store-test-0003.json").rename(store.trials_dir / "store-test-0009.json")
    with pytest.raises(StoreError, match="file name says 'store-test-0009'"):
        store.load_trials()


def test_open_records_the_spec_and_the_first_start(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    opened = store.open(_study(), now=first)
    assert opened.started_at == first
    document = json.loads(store.study_path.read_text())
    assert document["name"] == "store-test"
    assert document["spec"]["budget"]["maxTrials"] == 4
    # Resuming later keeps the first start (the timeout counts from it).
    again = store.open(_study(), now=first + timedelta(hours=2))
    assert again.started_at == first


def test_the_recorded_algorithm_is_kept_by_every_later_open(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    assert store.open(_study()).algorithm is None  # a new study: nothing chosen yet
    chosen = AlgorithmChoice(
        name="tpe",
        reason="auto: categorical or conditional parameters",
        resolved_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    store.record_algorithm(chosen)
    document = json.loads(store.study_path.read_text())
    assert document["algorithm"] == {
        "name": "tpe",
        "reason": "auto: categorical or conditional parameters",
        "resolvedAt": "2026-05-01T00:00:00Z",
    }
    assert store.open(_study(budget={"maxTrials": 9})).algorithm == chosen
    assert store.read_study().algorithm == chosen
    document["algorithm"]["name"] = "bayes"
    store.study_path.write_text(json.dumps(document))
    with pytest.raises(StoreError, match=r"study\.json: not a valid study file \(name: "):
        store.read_study()


def test_resume_may_change_the_budget(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    store.open(_study(budget={"maxTrials": 10, "parallelism": 3, "timeout": "5m"}))
    assert store.read_study().spec["budget"]["maxTrials"] == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 2.0}]}, "parameters"),
        ({"objectives": [{"name": "accuracy", "direction": "minimize"}]}, "objectives"),
        ({"algorithm": {"name": "random", "seed": 4}}, "algorithm"),
        ({"algorithm": {"name": "tpe", "seed": 3}}, "algorithm"),
    ],
)
def test_resume_refuses_a_changed_search(
    tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    before = store.study_path.read_text()
    with pytest.raises(StoreError) as error:
        store.open(_study(**change))
    message = str(error.value)
    assert f"study's {field} changed" in message
    assert str(store.study_path) in message
    assert "\n" not in message
    assert store.study_path.read_text() == before


def test_resume_refuses_another_study_in_the_workdir(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    other = _study().model_copy(deep=True)
    other.metadata.name = "other"
    with pytest.raises(StoreError, match="holds study 'store-test', not 'other'"):
        store.open(other)


def test_a_corrupt_study_file_is_one_line(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    store.open(_study())
    store.study_path.write_text('{"name": "store-test"}')
    with pytest.raises(
        StoreError, match=r"study\.json: not a valid study file \(missing 'startedAt'"
    ):
        store.open(_study())


def test_default_workdir_is_under_the_cwd(tmp_path: Path) -> None:
    assert default_workdir("demo", tmp_path) == tmp_path / ".tradeoff" / "demo"


def test_a_missing_workdir_has_no_trials(tmp_path: Path) -> None:
    assert FileStore(tmp_path / "nothing").load_trials() == []


def test_the_workdir_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    workdir = tmp_path / "new" / "w"
    store = FileStore(workdir)
    held = store.lock()  # creates the workdir
    assert (workdir / ".lock").read_text() == f"{os.getpid()}\n"
    with pytest.raises(WorkdirBusy) as busy:
        FileStore(workdir).lock()  # another open file: flock refuses it, even in-process
    assert str(busy.value) == f"{workdir} is in use by another tradeoff run (pid {os.getpid()})"
    held.release()
    with WorkdirLock(workdir):
        pass
    # The lock taken by lock() is the one the block holds and lets go.
    with store.lock(), pytest.raises(WorkdirBusy):
        FileStore(workdir).lock()
    again = store.lock()
    again.release()


def test_a_workdir_that_cannot_be_created_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="cannot create the workdir"):
        FileStore(tmp_path / "file" / "w").lock()

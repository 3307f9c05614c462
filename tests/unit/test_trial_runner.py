"""trial_runner: the metric line format, validation, the summary file and params()."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

import trial_runner
from trial_runner import METRICS_PREFIX, SUMMARY_MAX_BYTES, Reporter


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    records = []
    for line in stream.getvalue().splitlines():
        prefix, _, payload = line.partition(" ")
        assert prefix == METRICS_PREFIX
        records.append(json.loads(payload))
    return records


def test_report_prints_one_prefixed_json_line_per_call() -> None:
    stream = io.StringIO()
    reporter = Reporter(stream=stream)
    reporter.report(accuracy=0.9, loss=0.25)
    reporter.report(step=3, accuracy=0.8)
    assert stream.getvalue().count("\n") == 2
    assert _lines(stream) == [{"accuracy": 0.9, "loss": 0.25}, {"step": 3, "accuracy": 0.8}]


def test_module_report_writes_to_stdout_and_flushes(capsys: pytest.CaptureFixture[str]) -> None:
    trial_runner.report(step=0, **{"val.top-1": 0.5})
    out = capsys.readouterr().out
    assert out == 'TRADEOFF_METRICS {"step": 0, "val.top-1": 0.5}\n'


def test_numpy_scalars_and_ints_are_accepted() -> None:
    stream = io.StringIO()
    Reporter(stream=stream).report(
        step=np.int64(2), a=np.float32(0.5), b=np.float64(1.5), n=np.int64(7), k=3
    )
    record = _lines(stream)[0]
    assert record == {"step": 2, "a": 0.5, "b": 1.5, "n": 7, "k": 3}
    assert isinstance(record["n"], int)


@pytest.mark.parametrize(
    ("metrics", "error", "fragment"),
    [
        ({"accuracy": math.nan}, ValueError, "'accuracy': value must be finite"),
        ({"loss": math.inf}, ValueError, "'loss': value must be finite"),
        ({"ok": True}, TypeError, "'ok': a bool is not a number"),
        ({"ok": np.bool_(False)}, TypeError, "a bool is not a number"),
        ({"acc": "0.9"}, TypeError, "'acc': expected a real number, got str"),
        ({"acc": None}, TypeError, "got NoneType"),
        ({"acc": np.array([1.0, 2.0])}, TypeError, "cannot convert"),
        ({"1st": 1.0}, ValueError, "metric name '1st' must match"),
        ({"a b": 1.0}, ValueError, "metric name 'a b'"),
        ({}, ValueError, "at least one metric"),
    ],
)
def test_report_refuses_bad_metrics(
    metrics: dict[str, object], error: type[Exception], fragment: str
) -> None:
    stream = io.StringIO()
    with pytest.raises(error, match=None) as caught:
        Reporter(stream=stream).report(**metrics)  # type: ignore[arg-type]
    assert fragment in str(caught.value)
    assert stream.getvalue() == ""


@pytest.mark.parametrize(("step", "error"), [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_report_refuses_bad_steps(step: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="step must be"):
        Reporter(stream=io.StringIO()).report(step=step, accuracy=0.5)  # type: ignore[arg-type]


def test_summary_keeps_last_value_of_each_metric(tmp_path: Path) -> None:
    path = tmp_path / "termination-log"
    reporter = Reporter(stream=io.StringIO(), summary_path=str(path))
    reporter.report(step=1, accuracy=0.5, loss=2.0)
    assert json.loads(path.read_text()) == {"metrics": {"accuracy": 0.5, "loss": 2.0}}
    reporter.report(accuracy=0.75)
    assert json.loads(path.read_text()) == {"metrics": {"loss": 2.0, "accuracy": 0.75}}
    assert [p.name for p in tmp_path.iterdir()] == ["termination-log"]  # no temporary left


def test_summary_path_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log"
    monkeypatch.setenv("TRADEOFF_TERMINATION_LOG", str(path))
    Reporter(stream=io.StringIO()).report(accuracy=1.0)
    assert json.loads(path.read_text()) == {"metrics": {"accuracy": 1.0}}


def test_summary_is_capped_keeping_the_most_recent_metrics(tmp_path: Path) -> None:
    path = tmp_path / "log"
    reporter = Reporter(stream=io.StringIO(), summary_path=str(path))
    for index in range(300):
        reporter.report(**{f"metric_with_a_long_name_{index:03d}": index / 7})  # type: ignore[arg-type]
    reporter.report(metric_with_a_long_name_000=42.0)  # reported again: now the most recent
    text = path.read_text()
    assert len(text.encode()) <= SUMMARY_MAX_BYTES
    kept = json.loads(text)["metrics"]
    assert kept["metric_with_a_long_name_000"] == 42.0
    assert "metric_with_a_long_name_299" in kept
    assert "metric_with_a_long_name_001" not in kept
    assert len(kept) > 50
    assert len(reporter.latest) == 300


def test_unwritable_summary_warns_once_and_keeps_reporting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reporter = Reporter(summary_path=str(tmp_path / "missing" / "log"))
    reporter.report(a=1.0)
    reporter.report(a=2.0)
    captured = capsys.readouterr()
    assert captured.out.count(METRICS_PREFIX) == 2
    assert captured.err.count("cannot write summary") == 1


def test_params_and_names(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TRADEOFF_PARAMS", "TRADEOFF_TRIAL", "TRADEOFF_STUDY"):
        monkeypatch.delenv(name, raising=False)
    assert trial_runner.params() == {}
    assert trial_runner.trial_name() is None
    assert trial_runner.study_name() is None
    monkeypatch.setenv("TRADEOFF_PARAMS", '{"model": "svm", "C": 3.5, "layers": 2}')
    monkeypatch.setenv("TRADEOFF_TRIAL", "digits-0007")
    monkeypatch.setenv("TRADEOFF_STUDY", "digits")
    assert trial_runner.params() == {"model": "svm", "C": 3.5, "layers": 2}
    assert trial_runner.trial_name() == "digits-0007"
    assert trial_runner.study_name() == "digits"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("{not json", "TRADEOFF_PARAMS is not valid JSON"), ("[1, 2]", "must be a JSON object")],
)
def test_params_refuses_bad_json(monkeypatch: pytest.MonkeyPatch, text: str, fragment: str) -> None:
    monkeypatch.setenv("TRADEOFF_PARAMS", text)
    with pytest.raises(ValueError, match=fragment):
        trial_runner.params()


def test_all_names_exist() -> None:
    for name in trial_runner.__all__:
        assert hasattr(trial_runner, name)

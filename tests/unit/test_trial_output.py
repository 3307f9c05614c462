"""tradeoff.trial_output: JSON and Katib-style metric lines, the summary, problems."""

from __future__ import annotations

import io
import json
import math

import pytest

from tradeoff.trial_output import MAX_LINE_CHARS, MAX_PROBLEMS, TrialOutput
from trial_runner import Reporter


def test_round_trip_from_report() -> None:
    stream = io.StringIO()
    reporter = Reporter(stream=stream)
    for epoch in range(1, 4):
        reporter.report(step=epoch, accuracy=epoch / 10, loss=1 / epoch)
    reporter.report(accuracy=0.91, n_train=1347)
    output = TrialOutput()
    output.feed_text(stream.getvalue())
    assert output.final == {"accuracy": 0.91, "loss": 1 / 3, "n_train": 1347.0}
    assert output.intermediate == {
        "accuracy": [(1, 0.1), (2, 0.2), (3, 0.3)],
        "loss": [(1, 1.0), (2, 0.5), (3, 1 / 3)],
    }
    assert output.problems == []
    assert output.lines == 4
    assert output.last_step == 3


def test_json_prefix_after_a_timestamp_and_ordinary_lines_ignored() -> None:
    output = TrialOutput()
    output.feed("Epoch 1/3: training on 1347 samples")
    output.feed('2026-11-23T10:00:00Z TRADEOFF_METRICS {"accuracy": 0.5}')
    output.feed("Traceback (most recent call last): nothing here")
    assert output.final == {"accuracy": 0.5}
    assert output.problems == []


def test_katib_lines() -> None:
    output = TrialOutput(format="katib")
    output.feed("epoch=1 accuracy=0.5 loss=1.2")
    output.feed("epoch=2, accuracy=0.75, loss=8e-1")
    output.feed("Validation-accuracy=0.8")
    output.feed("step=5 epoch=2 val|acc=+.9")
    assert output.intermediate == {
        "accuracy": [(1, 0.5), (2, 0.75)],
        "loss": [(1, 1.2), (2, 0.8)],
        "epoch": [(5, 2.0)],
        "val|acc": [(5, 0.9)],
    }
    assert output.final == {
        "accuracy": 0.75,
        "loss": 0.8,
        "Validation-accuracy": 0.8,
        "epoch": 2.0,
        "val|acc": 0.9,
    }
    assert output.problems == []


def test_katib_values_must_be_whole_literals() -> None:
    output = TrialOutput()
    output.feed("started at time=12:30 with url=http://x/?a=1 lr=0.1, (beta=2)")
    # As with Katib's collector, any name=number in a log line counts ("a" here).
    assert output.final == {"a": 1.0, "lr": 0.1, "beta": 2.0}


def test_formats_select_what_is_read() -> None:
    text = 'TRADEOFF_METRICS {"a": 1}\nb=2\n'
    outputs = {name: TrialOutput(format=name) for name in ("auto", "json", "katib")}
    for output in outputs.values():
        output.feed_text(text)
    assert outputs["auto"].final == {"a": 1.0, "b": 2.0}
    assert outputs["json"].final == {"a": 1.0}
    assert outputs["katib"].final == {"b": 2.0}
    with pytest.raises(ValueError, match="metrics format"):
        TrialOutput(format="yaml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("TRADEOFF_METRICS {accuracy: 1}", "line 1: TRADEOFF_METRICS line is not valid JSON: "),
        ("TRADEOFF_METRICS [1, 2]", "line 1: TRADEOFF_METRICS line must hold a JSON object"),
        ('TRADEOFF_METRICS {"step": -1, "a": 1}', "line 1: step must be an integer >= 0, got -1"),
        ('TRADEOFF_METRICS {"step": 1.5, "a": 1}', "line 1: step must be an integer >= 0"),
        ('TRADEOFF_METRICS {"step": true, "a": 1}', "line 1: step must be an integer >= 0"),
        ('TRADEOFF_METRICS {"a": NaN}', "line 1: metric 'a' is not finite: nan"),
        ('TRADEOFF_METRICS {"a": -Infinity}', "line 1: metric 'a' is not finite: -inf"),
        ('TRADEOFF_METRICS {"a": 1e999}', "line 1: metric 'a' is not finite: inf"),
        ('TRADEOFF_METRICS {"a": "0.9"}', "line 1: metric 'a' is not a number: '0.9'"),
        ('TRADEOFF_METRICS {"a": false}', "line 1: metric 'a' is not a number: False"),
        ('TRADEOFF_METRICS {"": 1}', "line 1: bad metric name ''"),
        ("loss=nan accuracy=0.3", "line 1: metric 'loss' is not finite: nan"),
        ("loss=-inf", "line 1: metric 'loss' is not finite: -inf"),
        ("step=2.5 loss=1", "line 1: step must be an integer >= 0, got 2.5"),
    ],
)
def test_malformed_metric_lines_become_problems(line: str, problem: str) -> None:
    output = TrialOutput()
    output.feed(line)
    assert len(output.problems) == 1
    assert output.problems[0].startswith(problem)
    assert "a" not in output.final
    assert "loss" not in output.final


def test_bad_values_do_not_spoil_the_good_ones_on_a_line() -> None:
    output = TrialOutput()
    output.feed('TRADEOFF_METRICS {"step": 2, "a": null, "b": 0.5}')
    output.feed("loss=nan accuracy=0.3")
    assert output.final == {"b": 0.5, "accuracy": 0.3}
    assert output.intermediate == {"b": [(2, 0.5)]}
    assert [p.split(":")[0] for p in output.problems] == ["line 1", "line 2"]


def test_problems_are_capped() -> None:
    output = TrialOutput()
    output.feed_text("TRADEOFF_METRICS {\n" * 50)
    assert len(output.problems) == MAX_PROBLEMS
    assert output.problems_dropped == 50 - MAX_PROBLEMS
    assert output.problems[-1].startswith(f"line {MAX_PROBLEMS}:")


def test_summary_is_authoritative_for_final_values() -> None:
    output = TrialOutput()
    output.feed_text('TRADEOFF_METRICS {"accuracy": 0.5, "loss": 1}\n')
    output.apply_summary(json.dumps({"metrics": {"accuracy": 0.9, "energy_kwh": 0.01}}))
    assert output.final == {"accuracy": 0.9, "loss": 1.0, "energy_kwh": 0.01}
    assert output.intermediate == {}
    assert output.problems == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{oops", "summary: termination message is not valid JSON"),
        ('{"accuracy": 0.9}', 'summary: termination message has no "metrics" object'),
        ('"just a string"', 'summary: termination message has no "metrics" object'),
        ('{"metrics": {"a": NaN}}', "summary: metric 'a' is not finite: nan"),
        ('{"metrics": {"a": [1]}}', "summary: metric 'a' is not a number: [1]"),
    ],
)
def test_malformed_summary_is_a_problem(text: str, problem: str) -> None:
    output = TrialOutput()
    output.feed("a=0.25")
    output.apply_summary(text)
    # An authoritative non-finite value drops the metric rather than keep an older one.
    assert output.final == ({} if "NaN" in text else {"a": 0.25})
    assert len(output.problems) == 1
    assert output.problems[0].startswith(problem)


def test_empty_summary_is_ignored() -> None:
    output = TrialOutput()
    output.apply_summary("  \n")
    assert output.problems == []
    assert output.final == {}


def test_carriage_returns_and_line_counting() -> None:
    output = TrialOutput()
    output.feed_text("progress 10%\rprogress 100%\raccuracy=0.5\r\nTRADEOFF_METRICS {\r\n")
    assert output.final == {"accuracy": 0.5}
    assert output.lines == 2
    assert output.problems[0].startswith("line 2: TRADEOFF_METRICS line is not valid JSON")


def test_very_long_lines_are_truncated() -> None:
    output = TrialOutput()
    output.feed("x" * (2 * MAX_LINE_CHARS) + " late=1")
    output.feed("early=2 " + "y" * (2 * MAX_LINE_CHARS))
    output.feed('TRADEOFF_METRICS {"a": "' + "z" * MAX_LINE_CHARS + '"}')
    assert output.final == {"early": 2.0}
    assert output.problems == [
        f"line 3: TRADEOFF_METRICS line is longer than {MAX_LINE_CHARS} characters"
    ]


def test_metric_names_filter() -> None:
    output = TrialOutput(metric_names={"accuracy"})
    output.feed("lr=0.1 accuracy=0.5 step=1")
    output.feed('TRADEOFF_METRICS {"loss": 1, "accuracy": 0.6}')
    assert output.final == {"accuracy": 0.6}
    assert output.intermediate == {"accuracy": [(1, 0.5)]}


def test_garbage_never_raises() -> None:
    output = TrialOutput()
    garbage = [
        "\x00\x01\ufffd\ufffd",
        "TRADEOFF_METRICS",
        "TRADEOFF_METRICS " + "[" * 100_000,
        "TRADEOFF_METRICS {" + '"a":' * 10 + "}",
        "TRADEOFF_METRICS " + "9" * 5000,
        "=" * 1000,
        "a=" * 1000,
        "TRADEOFF_METRICS {} trailing",
    ]
    for line in garbage:
        output.feed(line)
    output.apply_summary("[" * 100_000)
    assert output.final == {}
    assert len(output.problems) >= 5


def test_many_ordinary_lines_leave_only_real_metrics() -> None:
    lines = [
        f"2026-11-23 INFO batch {i}: loaded /data/shard-{i % 7}.npz lr=0.01" for i in range(100_000)
    ]
    output = TrialOutput()
    for line in lines:
        output.feed(line)
    assert output.final == {"lr": 0.01}
    assert output.problems == []
    quiet = TrialOutput(format="json")
    for line in lines:
        quiet.feed(line)
    assert quiet.final == {}


def test_a_non_finite_final_value_drops_the_metric() -> None:
    output = TrialOutput()
    output.feed('TRADEOFF_METRICS {"step": 2, "loss": 0.3}')
    output.feed('TRADEOFF_METRICS {"loss": NaN}')
    assert "loss" not in output.final
    assert output.intermediate["loss"] == [(2, 0.3)]
    assert any("not finite" in p for p in output.problems)
    assert list(output.invalid) == ["loss"] and math.isnan(output.invalid["loss"])


def test_non_finite_final_values_are_kept_apart_until_a_finite_one_comes() -> None:
    output = TrialOutput()
    output.feed("step=1 accuracy=nan")  # an intermediate value: not the final one
    assert output.invalid == {}
    output.feed("accuracy=inf loss=0.2")
    assert output.invalid == {"accuracy": math.inf} and output.final == {"loss": 0.2}
    later = TrialOutput()
    later.feed("accuracy=0.7")
    output.merge(later)
    assert output.invalid == {} and output.final == {"loss": 0.2, "accuracy": 0.7}
    summary = TrialOutput()
    summary.feed("accuracy=0.7")
    summary.apply_summary('{"metrics": {"accuracy": -Infinity}}')
    assert summary.invalid == {"accuracy": -math.inf} and "accuracy" not in summary.final

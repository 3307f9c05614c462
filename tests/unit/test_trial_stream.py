"""Reading trial output with bounded memory, and safe excerpts of it for messages."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tradeoff.api.trial import INTERMEDIATE_CAP
from tradeoff.kube import logs
from tradeoff.kube.logs import TAIL_BYTES, LogFollower, read_tail
from tradeoff.trial_output import TrialOutput
from tradeoff.trial_stream import EXCERPT_CHARS, MAX_LINE_BYTES, LineReader, excerpt, last_line

MB = 1024 * 1024
CHUNK = b"x" * (16 * 1024)


def garbage(megabytes: int, newline_every: int | None = None) -> Iterator[bytes]:
    """`megabytes` of output in 16 KiB chunks (one shared object: the source costs nothing)."""
    line = b"y" * (newline_every - 1) + b"\n" if newline_every else b""
    for index in range(megabytes * MB // len(CHUNK)):
        yield line if line and index % 4 == 0 else CHUNK


def peak_bytes(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- LineReader ---------------------------------------------------------------------------
def test_lines_split_across_chunks_and_the_last_one_without_a_newline() -> None:
    reader = LineReader()
    assert reader.feed(b"acc") == []
    assert [line.text for line in reader.feed(b"uracy=0.5\nloss=1\nste")] == [
        "accuracy=0.5",
        "loss=1",
    ]
    assert [line.text for line in reader.end()] == ["ste"]
    assert reader.end() == []


def test_a_long_line_keeps_its_first_bytes_and_counts_the_rest() -> None:
    reader = LineReader(limit=10)
    assert reader.feed(b"0123456789abcdef") == []
    assert reader.buffered == 10
    (line,) = reader.feed(b"ghij\nnext\n")[:1]
    assert (line.text, line.dropped) == ("0123456789", 10)
    assert [(line.text, line.dropped) for line in reader.end()] == []


def test_a_50_mb_line_holds_at_most_one_line_limit() -> None:
    reader = LineReader()
    lines: list[Any] = []

    def read() -> None:
        for chunk in garbage(50):
            lines.extend(reader.feed(chunk))
            assert reader.buffered <= MAX_LINE_BYTES
        lines.extend(reader.end())

    assert peak_bytes(read) < 4 * MAX_LINE_BYTES
    (line,) = lines
    assert len(line.text) == MAX_LINE_BYTES and line.dropped == 50 * MB - MAX_LINE_BYTES


def test_a_cut_multibyte_character_is_replaced_not_fatal() -> None:
    reader = LineReader(limit=4)
    (line,) = reader.feed("abcé\n".encode())
    assert line.text == "abc\ufffd" and line.dropped == 1


# -- TrialOutput bounds --------------------------------------------------------------------
def test_a_cut_line_is_read_up_to_its_last_space_only() -> None:
    output = TrialOutput()
    output.feed_lines(LineReader(limit=24).feed(b"early=2 late=0.123456789 more\n"))
    assert output.final == {"early": 2.0}  # "late=0.1234567" was cut: never read
    output.feed_lines(LineReader(limit=24).feed(b'TRADEOFF_METRICS {"a": 0.123456}\n'))
    assert output.problems[-1].endswith("longer than 65536 characters")


def test_series_are_capped_and_only_the_kept_metrics_have_one() -> None:
    output = TrialOutput(series=("loss",))
    for step in range(10 * INTERMEDIATE_CAP):
        output.feed(f"step={step} loss={step / 100} acc=0.5")
    assert len(output.intermediate["loss"]) < 2 * INTERMEDIATE_CAP
    assert output.series_of("loss")[-1] == (
        10 * INTERMEDIATE_CAP - 1,
        (10 * INTERMEDIATE_CAP - 1) / 100,
    )
    assert len(output.series_of("loss")) == INTERMEDIATE_CAP
    assert "acc" not in output.intermediate
    assert output.latest["acc"] == (10 * INTERMEDIATE_CAP - 1, 0.5)
    assert output.steps == 20 * INTERMEDIATE_CAP


def test_on_step_sees_every_intermediate_value() -> None:
    seen: list[tuple[str, int, float]] = []
    output = TrialOutput(series=(), on_step=lambda *value: seen.append(value))
    output.feed("epoch=1 acc=0.5")
    output.feed('TRADEOFF_METRICS {"step": 2, "acc": 0.75}')
    assert seen == [("acc", 1, 0.5), ("acc", 2, 0.75)]
    assert output.intermediate == {}


def test_merge_takes_the_tails_final_values_and_only_new_steps() -> None:
    followed = TrialOutput()
    followed.feed_text("step=1 loss=0.9\nstep=2 loss=0.8\naccuracy=0.5\n")
    tail = TrialOutput()  # overlaps: starts at step 2
    tail.feed_text("step=2 loss=0.8\nstep=3 loss=0.7\naccuracy=0.75\n")
    followed.merge(tail)
    assert followed.intermediate["loss"] == [(1, 0.9), (2, 0.8), (3, 0.7)]
    assert followed.final["accuracy"] == 0.75


# -- excerpts ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mValueError\x1b[0m: diverged", "ValueError: diverged"),
        ("\x1b]0;owned title\x07boom", "boom"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("tab\there\r\nand\x00nul\x7f\x85", "tab here andnul"),
        ("right\u202eto\u2066left", "righttoleft"),
        ("   ", ""),
    ],
)
def test_excerpt_removes_escapes_and_control_characters(text: str, shown: str) -> None:
    assert excerpt(text) == shown


def test_excerpt_is_bounded() -> None:
    shown = excerpt("E" * 10 * MB)
    assert len(shown) == EXCERPT_CHARS and shown.endswith("...")
    assert len(excerpt("\x1b[1m" * MB + "x")) <= EXCERPT_CHARS


def test_last_line_skips_empty_and_escape_only_lines() -> None:
    text = "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n\x1b[0m\n\n"
    assert last_line(text) == "KeyError: 'x'"
    assert last_line("") == ""
    assert len(last_line("z" * MB)) == EXCERPT_CHARS


# -- the operator's log follower and tail read ------------------------------------------------
class Response:
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    def stream(self, size: int, decode_content: bool = True) -> Iterator[bytes]:
        yield from self.chunks

    def close(self) -> None:
        self.closed = True


class Kube:
    def __init__(self, chunks: Callable[[], Iterator[bytes]]) -> None:
        self.chunks = chunks
        self.asked: dict[str, Any] = {}

    def follow_log(self, namespace: str, pod: str, container: str) -> Response:
        return Response(self.chunks())

    def read_log(self, namespace: str, pod: str, container: str, **query: Any) -> Response:
        self.asked = query
        return Response(self.chunks())


def fifty_mb_with_metrics() -> Iterator[bytes]:
    yield b"epoch=1 accuracy=0.5\n"
    yield from garbage(25)  # no newline: one 25 MB line
    yield b"\n"
    yield from garbage(25, newline_every=100)
    yield b"\nepoch=2 accuracy=0.75\n"


def test_the_follower_parses_a_50_mb_log_in_bounded_memory() -> None:
    output = TrialOutput(series=("accuracy",))
    follower = LogFollower(Kube(fifty_mb_with_metrics), "ns", "pod", "trial", output)  # type: ignore[arg-type]

    def follow() -> None:
        follower.start()
        assert follower.ended.wait(60)

    assert peak_bytes(follow) < 2 * MB
    assert follower.complete and follower.error is None
    assert output.final == {"accuracy": 0.75}
    assert output.intermediate == {"accuracy": [(1, 0.5), (2, 0.75)]}


def test_the_tail_is_asked_for_with_limits_and_parsed_in_bounded_memory() -> None:
    kube = Kube(fifty_mb_with_metrics)
    output = TrialOutput()
    assert peak_bytes(lambda: read_tail(kube, "ns", "pod", "trial", output)) < 2 * MB  # type: ignore[arg-type]
    assert kube.asked == {"tail_lines": logs.TAIL_LINES, "limit": TAIL_BYTES}
    # This fake ignores the limits and sends all 50 MB: reading stops at the limit, and
    # the end of the log counts as not read.
    assert any("only their first part was read" in p for p in output.problems)


def test_a_tail_cut_by_limit_bytes_drops_its_unfinished_line() -> None:
    def cut() -> Iterator[bytes]:
        yield b"accuracy=0.5\n"
        yield b"y" * (TAIL_BYTES - 28)
        yield b"\naccuracy=0.987"  # cut by limitBytes: really 0.98765

    output = TrialOutput()
    read_tail(Kube(cut), "ns", "pod", "trial", output)  # type: ignore[arg-type]
    assert output.final == {"accuracy": 0.5}

"""The engine's tally: counts and the goal from a RecordBook's change log, equal to a
pass over every record, reading only the records put since it last looked."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import make_spec
from tradeoff.api import Trial
from tradeoff.engine import progress
from tradeoff.engine.lifecycle import CANCELLED
from tradeoff.engine.records import RecordBook, UnloggedChange
from tradeoff.engine.tally import Tally

SPEC = make_spec(goal={"accuracy": 0.9})

STATES = ["Pending", "Running", "Succeeded", "Failed", "Pruned", "Cancelled"]


def record(number: int, state: str, accuracy: float) -> Trial:
    r = Trial.new("demo", number, {"x": 0.5, "y": 0.5})
    set_state(r, state, accuracy)
    return r


def set_state(r: Trial, state: str, accuracy: float) -> None:
    s = r.status
    s.state = "Pending" if state == "Cancelled" else state  # type: ignore[assignment]
    s.reason = CANCELLED if state == "Cancelled" else None
    s.values = [accuracy, 1.0] if state == "Succeeded" else None
    s.feasible = True if state == "Succeeded" else None


changes = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=30),  # which record (a new one if past the end)
        st.sampled_from(STATES),
        st.floats(min_value=0.0, max_value=1.0),
        st.booleans(),  # read the tally after this change
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(plan=changes)
def test_the_tally_of_a_book_equals_a_pass_over_every_record(
    plan: list[tuple[int, str, float, bool]],
) -> None:
    book, tally = RecordBook(), Tally(SPEC)
    for which, state, accuracy, look in plan:
        existing = book.get(which)
        if existing is None:
            book.put(record(len(book), state, accuracy))
        else:
            set_state(existing, state, accuracy)
            book.put(existing)
        if look:
            expected = (progress.counts(list(book)), progress.goal_reached(SPEC, list(book)))
            assert tally.read(book) == expected
            assert Tally(SPEC).read(list(book)) == expected  # a plain sequence, all of it
    assert tally.read(book) == (
        progress.counts(list(book)),
        progress.goal_reached(SPEC, list(book)),
    )


def test_the_tally_reads_only_the_records_put_since_it_last_looked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    book = RecordBook(record(n, "Succeeded", 0.5) for n in range(100))
    tally = Tally(SPEC)
    assert tally.read(book)[0].succeeded == 100
    looked: list[int] = []
    kind = progress.kind
    monkeypatch.setattr(progress, "kind", lambda r: looked.append(r.number) or kind(r))
    monkeypatch.setattr("tradeoff.engine.tally.VERIFY", False)  # its check passes over all
    book[7].status.values = [0.95, 1.0]
    book.put(book[7])
    book.put(record(100, "Running", 0.0))
    counts, hit = tally.read(book)
    assert sorted(looked) == [7, 100]
    assert (counts.created, counts.running, counts.succeeded) == (101, 1, 100)
    assert hit is book[7]


def test_a_change_the_book_was_not_told_of_is_caught() -> None:
    book = RecordBook([record(0, "Running", 0.0)])
    tally = Tally(SPEC)
    tally.read(book)
    set_state(book[0], "Succeeded", 0.5)  # never put
    with pytest.raises(UnloggedChange, match=r"without RecordBook\.put"):
        tally.read(book)

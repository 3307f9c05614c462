"""The informers' listing: pages are read ahead while the page before is handled, and a
listing can begin before its informer does (`head_start`)."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kubernetes.client.exceptions import ApiException

from tradeoff.kube.informer import Gone
from tradeoff.kube.listwatch import LIST_AHEAD, LIST_PAGE, KubeSource, continue_token


class Answer:
    """TEST DOUBLE of urllib3's raw answer (`_preload_content=False`)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.released = False

    def release_conn(self) -> None:
        self.released = True


class Lister:
    """TEST DOUBLE of a generated client's list call over `pages` pages of one listing;
    records each call's arguments, and answers page `fail_at` with `fail` instead."""

    def __init__(self, pages: int, fail_at: int | None = None, fail: int = 500) -> None:
        self.pages, self.fail_at, self.fail = pages, fail_at, fail
        self.calls: list[dict[str, Any]] = []
        self.asked = threading.Condition()

    def __call__(self, **kwargs: Any) -> Answer:
        with self.asked:
            self.calls.append(kwargs)
            self.asked.notify_all()
        token = kwargs.get("_continue")
        index = int(token) if token else 0
        if index == self.fail_at:
            raise ApiException(status=self.fail, reason="made to fail")
        following = str(index + 1) if index + 1 < self.pages else None
        body = {
            "metadata": {"resourceVersion": "7", **({"continue": following} if following else {})},
            "items": [{"metadata": {"name": f"t{index}"}}],
        }
        return Answer(orjson.dumps(body))

    def wait_for_calls(self, count: int, timeout: float = 5.0) -> bool:
        with self.asked:
            return self.asked.wait_for(lambda: len(self.calls) >= count, timeout)


def test_the_next_page_is_asked_for_before_the_informer_asks() -> None:
    lister = Lister(pages=3)
    source = KubeSource(lister, "status.phase!=Succeeded", label_selector="study")
    first = source.page(None)
    assert [o["metadata"]["name"] for o in first.items] == ["t0"] and first.token == "1"
    assert lister.wait_for_calls(3)  # pages 2 and 3 asked for before the informer asks
    assert [c["_continue"] for c in lister.calls] == [None, "1", "2"]
    second = source.page("1")
    third = source.page("2")
    assert [second.token, third.token] == ["2", None]
    assert [p.items[0]["metadata"]["name"] for p in (second, third)] == ["t1", "t2"]
    assert len(lister.calls) == 3  # each page asked for once
    for call in lister.calls:  # every page of the first listing with its selectors
        assert call["field_selector"] == "status.phase!=Succeeded"
        assert call["label_selector"] == "study" and call["limit"] == LIST_PAGE
    source.page(None)  # a later listing reads every object
    assert "field_selector" not in lister.calls[3]


def test_a_page_asked_ahead_that_is_gone_raises_gone_when_asked_for() -> None:
    source = KubeSource(Lister(pages=3, fail_at=1, fail=410))
    source.page(None)
    with pytest.raises(Gone):
        source.page("1")


def test_a_page_asked_ahead_that_failed_is_asked_again_when_tried_again() -> None:
    lister = Lister(pages=2, fail_at=1)
    source = KubeSource(lister)
    source.page(None)
    with pytest.raises(ApiException):
        source.page("1")
    lister.fail_at = None
    assert source.page("1").items[0]["metadata"]["name"] == "t1"
    assert [c["_continue"] for c in lister.calls] == [None, "1", "1"]


def test_a_page_asked_ahead_is_dropped_when_the_listing_starts_again() -> None:
    lister = Lister(pages=2)
    source = KubeSource(lister)
    source.page(None)
    assert lister.wait_for_calls(2)
    again = source.page(None)  # listed from the start again (the informer paused)
    assert again.items[0]["metadata"]["name"] == "t0"
    assert [c["_continue"] for c in lister.calls][:3] == [None, "1", None]


def test_a_listing_begun_early_is_read_ahead_up_to_its_bound_and_handed_out_in_order() -> None:
    pages = LIST_AHEAD + 6
    lister = Lister(pages=pages)
    source = KubeSource(lister)
    source.head_start()
    assert lister.wait_for_calls(LIST_AHEAD + 1)
    assert not lister.wait_for_calls(LIST_AHEAD + 2, timeout=0.3)  # the bound holds
    token: str | None = None
    names = []
    for _ in range(pages):
        page = source.page(token)
        names.append(page.items[0]["metadata"]["name"])
        token = page.token
    assert token is None and names == [f"t{n}" for n in range(pages)]
    asked = [c["_continue"] for c in lister.calls]
    assert asked == [None, *(str(n) for n in range(1, pages))]  # each page once, none again


def test_a_listing_begun_early_whose_first_page_failed_is_listed_when_asked() -> None:
    lister = Lister(pages=2, fail_at=0)
    source = KubeSource(lister)
    source.head_start()
    with pytest.raises(ApiException):
        source.page(None)
    lister.fail_at = None
    assert source.page(None).items[0]["metadata"]["name"] == "t0"


KEYS = st.sampled_from(["metadata", "continue", "items", "name", "kind", "x"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    items=st.lists(st.dictionaries(KEYS, JSON, max_size=4), max_size=4),
    token=st.none() | st.text(min_size=1, max_size=12),
    order=st.permutations(["apiVersion", "items", "kind", "metadata"]),
)
def test_the_continue_token_is_read_as_a_full_decoding_reads_it(
    items: list[dict[str, Any]], token: str | None, order: list[str]
) -> None:
    meta = {"resourceVersion": "9", **({"continue": token} if token is not None else {})}
    parts = {"apiVersion": "v1", "kind": "TrialList", "metadata": meta, "items": items}
    data = orjson.dumps({key: parts[key] for key in order})  # the server's key order
    assert continue_token(data) == orjson.loads(data)["metadata"].get("continue")

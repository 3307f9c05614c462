"""The watch store's records share their equal parts and stay equal to a plain parse."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeoff.api.trial import Trial
from tradeoff.kube import shared_parts
from tradeoff.kube.cache import KEPT_META, trial_entry
from tradeoff.kube.pods import owner_reference

SOURCES = {
    "energy": {"source": "estimated", "detail": "power model from requests and duration"},
    "prices": {"source": "configured"},
    "intensity": {"source": "configured"},
}


def finished_trial(
    number: int, value: float, state: str = "Succeeded", economics: bool = True
) -> dict[str, Any]:
    """A Trial as the operator writes it, read back from a watch (each its own JSON)."""
    name = f"demo-{number:04d}"
    status: dict[str, Any] = {
        "state": state,
        "conditions": [{"type": state, "status": "True", "reason": state, "message": ""}],
        "podName": f"{name}-a1",
        "attempts": 1,
        "metrics": {"accuracy": value},
        "summary": f"accuracy={value:.4f}",
    }
    if economics:
        status["economics"] = {
            "durationSeconds": value,
            "energyKWh": 0.0,
            "carbonGrams": 0.0,
            "costUSD": 0.0,
            "source": "estimated",
            "vcpu": 0.1,
            "memoryGiB": 0.0625,
            "gpus": 0,
            "gramsPerKWh": 8.8,
            "pue": 1.135,
            "region": "eu-north-1",
            "sources": SOURCES,
        }
    body = {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Trial",
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": f"t-{number}",
            "resourceVersion": str(100 + number),
            "labels": {"tradeoff.dev/study": "demo", "tradeoff.dev/trial": name},
            "ownerReferences": [owner_reference("Study", "demo", "s-uid")],
        },
        "spec": {"study": "demo", "number": number, "parameters": {"x": value}},
        "status": status,
    }
    return json.loads(json.dumps(body))  # no strings shared with other bodies


def test_alike_records_share_their_fields_sets_sources_owners_and_strings() -> None:
    one, two = (trial_entry(finished_trial(n, 0.1 * n)) for n in (1, 2))
    assert one.record is not None and two.record is not None
    assert one.record.status.__pydantic_fields_set__ is two.record.status.__pydantic_fields_set__
    assert one.record.__pydantic_fields_set__ is two.record.__pydantic_fields_set__
    first, second = one.record.status.economics, two.record.status.economics
    assert first is not None and second is not None and first.sources is second.sources
    assert one.ref["metadata"]["ownerReferences"] is two.ref["metadata"]["ownerReferences"]
    (key_one,), (key_two,) = one.record.status.metrics, two.record.status.metrics
    assert key_one is key_two
    assert one.record.status.conditions[0].reason is two.record.status.conditions[0].reason
    # what names one trial stays its own (interning it would save nothing)
    assert one.record.status.pod_name == "demo-0001-a1"


def test_records_of_another_shape_keep_their_own_fields_sets() -> None:
    plain, bare = (
        trial_entry(finished_trial(1, 0.5)),
        trial_entry(finished_trial(2, 0.5, economics=False)),
    )
    assert plain.record is not None and bare.record is not None
    assert plain.record.status.__pydantic_fields_set__ != bare.record.status.__pydantic_fields_set__
    assert "economics" not in bare.record.status.__pydantic_fields_set__


def test_the_tables_are_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(shared_parts, "_sources", {})
    monkeypatch.setattr(shared_parts, "MAX_SHARED", 2)
    bodies = [finished_trial(n, 0.5) for n in range(4)]
    for n, body in enumerate(bodies):
        body["status"]["economics"]["sources"]["energy"]["detail"] = f"model {n}"
    entries = [trial_entry(body) for body in bodies]
    assert len(shared_parts._sources) == 2
    details = [e.record.status.economics.sources.energy.detail for e in entries]  # type: ignore[union-attr]
    assert details == [f"model {n}" for n in range(4)]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 1, allow_nan=False),
            st.sampled_from(["Succeeded", "Failed", "Pruned", "Running"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_shared_record_dumps_as_a_plain_parse_does(
    trials: list[tuple[float, str, bool]],
) -> None:
    for number, (value, state, economics) in enumerate(trials):
        body = finished_trial(number, value, state, economics)
        kept = trial_entry(body).record
        meta = {k: v for k, v in body["metadata"].items() if k in KEPT_META}
        alone = Trial.model_validate({**body, "metadata": meta})
        assert kept is not None
        assert kept.model_dump() == alone.model_dump()
        assert kept.model_dump(exclude_unset=True) == alone.model_dump(exclude_unset=True)
        assert kept.wire() == alone.wire()


def test_a_body_json_cannot_carry_is_validated_as_it_is() -> None:
    body = finished_trial(3, 0.25)
    body["spec"]["samplerState"] = {"seed": 2**70}  # over 64 bits: orjson refuses it
    entry = trial_entry(body)
    meta = {k: v for k, v in body["metadata"].items() if k in KEPT_META}
    alone = Trial.model_validate({**body, "metadata": meta})
    assert entry.record is not None
    assert entry.record.spec.sampler_state == {"seed": 2**70}
    assert entry.record.model_dump() == alone.model_dump()
    assert entry.record.status.conditions[0].reason == "Succeeded"


def test_an_owner_list_that_differs_is_not_shared() -> None:
    one, other = finished_trial(4, 0.5), finished_trial(5, 0.5)
    other["metadata"]["ownerReferences"][0]["uid"] = "another-study"
    first, second = trial_entry(one), trial_entry(other)
    assert first.ref["metadata"]["ownerReferences"][0]["uid"] == "s-uid"
    assert second.ref["metadata"]["ownerReferences"][0]["uid"] == "another-study"

"""The operator's reads at scale: Trials and pods come from its watches, not from lists.

Instant trials (the local kubelet's instant mode: no process, the log holds one metric
line), so what is counted is the operator's own requests.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.cluster.harness import Cluster
from tests.e2e.helpers import Operator, apply, study_manifest, trials, wait_study

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
INSTANT = "tradeoff-harness-instant"
STUDY = "tradeoff.dev/study"


def instant_study(name: str, max_trials: int) -> dict[str, object]:
    manifest = study_manifest(name, budget={"maxTrials": max_trials, "parallelism": 10})
    container = manifest["spec"]["trialTemplate"]["pod"]["containers"][0]
    container["command"] = [INSTANT]
    container["args"] = ['TRADEOFF_METRICS {"accuracy": ${params.x}}']
    return manifest


def test_a_study_lists_its_trials_once_and_costs_at_most_ten_requests_a_trial(
    cluster: Cluster, operator: Callable[..., Operator]
) -> None:
    count = 60
    operator("--standalone")
    apply(cluster, instant_study("counted", count))
    done = wait_study(cluster, "counted", timeout=180)
    assert done["status"]["state"] == "Succeeded"
    assert done["status"]["trials"]["succeeded"] == count
    assert len(trials(cluster, "counted")) == count  # none doubled
    requests = cluster.request_counts()
    # Each pass used to list every Trial and Pod of the study, and each driver polled its
    # pod and read its Study and Trial again at every step.
    # One list each for kopf's watch, one for the first pass over the study (it primes).
    assert requests[("list", "trials.tradeoff.dev")] <= 2
    assert requests[("list", "pods")] <= 2
    assert requests[("get", "pods")] <= count // 4  # only pods no event reported in time
    assert requests[("get", "studies.tradeoff.dev")] <= count  # passes, not trial steps
    assert requests[("get", "nodes")] <= 2
    per_trial = sum(requests.values()) / count
    assert per_trial <= 10.0, f"{per_trial:.1f} requests per trial: {requests.most_common(8)}"


def test_a_studys_trials_are_listed_page_by_page_at_one_resource_version(
    cluster: Cluster,
) -> None:
    """The first pass over a study reads its Trials a page at a time (`Kube.trial_pages`)."""
    from tradeoff.kube.client import Kube

    for number in range(7):
        cluster.apply(
            {
                "apiVersion": "tradeoff.dev/v1alpha1",
                "kind": "Trial",
                "metadata": {"name": f"paged-{number:04d}", "labels": {STUDY: "paged"}},
                "spec": {"study": "paged", "number": number, "parameters": {"x": 0.5}},
            }
        )
    kube = Kube(cluster.client())
    pages = list(kube.trial_pages(cluster.namespace, "paged", limit=3))
    assert [len(items) for items, _ in pages] == [3, 3, 1]
    assert len({version for _, version in pages}) == 1
    names = [t["metadata"]["name"] for items, _ in pages for t in items]
    assert names == [f"paged-{n:04d}" for n in range(7)]
    listed, version = kube.list_trials_at(cluster.namespace, "paged")
    assert [t["metadata"]["name"] for t in listed] == names and version == pages[0][1]

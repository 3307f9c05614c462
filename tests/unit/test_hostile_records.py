"""One trial record damaged with values its model still accepts, against every consumer.

A record is data others may write (a Trial's spec and status in a cluster, a JSON file in
a local workdir). Whatever a record holds that `Trial.model_validate` accepts, every
consumer (the engine's decisions, insights, importance, proposals, the operator's status
and metrics, the result commands) returns normally or raises the project's own one-line
error; none raises anything else, and none takes time growing with a number the record
claims rather than with the records that exist.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from tests.results_data import MANIFEST, records, study, write_workdir
from tests.results_data import RESULT_COMMANDS as READERS
from tests.results_data import economics as economics_of
from tradeoff import cli
from tradeoff.api.status import StudyStatus
from tradeoff.api.study import Study, StudySpec
from tradeoff.api.trial import (
    ARTIFACTS_CAP,
    CONDITIONS_CAP,
    INTERMEDIATE_CAP,
    MAX_ATTEMPTS,
    MAX_TRIAL_NUMBER,
    METRICS_CAP,
    STUDY_LABEL,
    TRIAL_LABEL,
    Trial,
    TrialStatus,
)
from tradeoff.engine import AttemptOutcome, Engine, lifecycle, param_importances
from tradeoff.engine.insights import insights
from tradeoff.engine.proposal import propose
from tradeoff.engine.validation import choose_algorithm
from tradeoff.kube.cache import study_records
from tradeoff.kube.history import history_reader
from tradeoff.kube.pods import owner_reference
from tradeoff.kube.status import study_status
from tradeoff.metrics import PrometheusObserver

KEY = b"tradeoff-tests-signing-key-32byt"
NOW = datetime(2026, 1, 2, 4, tzinfo=UTC)

# -- values a record's model accepts ------------------------------------------------------

EXTREME = [1e150, -1e150, 5e-324, -5e-324, 0.0, -0.0, 1.0, 1e-300, 1.7e308, -1.7e308]
NOT_FINITE = [math.inf, -math.inf, math.nan]
"""A local record is JSON read by Python: `NaN` and `Infinity` parse, and the model takes
them wherever a field is a plain float (metrics, intermediate values, economics)."""

floats = st.one_of(
    st.sampled_from(EXTREME + NOT_FINITE), st.floats(allow_nan=True, allow_infinity=True)
)
values = st.one_of(st.sampled_from(EXTREME[:7]), st.floats(-1e150, 1e150))
"""What `status.values` accepts: finite, within ±1e150."""
ints = st.one_of(
    st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63), 10**30, -(10**30)]), st.integers()
)
ODD_NAMES = ["", " ", "accuracy", "cost", "f1", "\uff41\uff43\uff43", "a\u0301", "\u202e", "a\nb"]
ODD_NAMES += ["x" * 300, "\x00", "\U0001f4a5", "<script>", "cost ", "Accuracy"]
names = st.one_of(st.sampled_from(ODD_NAMES), st.text(max_size=20))
texts = st.one_of(st.sampled_from(ODD_NAMES), st.text(max_size=50))
times = st.one_of(
    st.sampled_from(
        [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    ),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.timezones()),
    st.datetimes(),  # naive: a record may carry a time without its zone
)
states = st.sampled_from(["Pending", "Running", "Succeeded", "Failed", "Pruned"])
param_values = st.one_of(
    st.sampled_from(["forest", "logreg", "", True, False, 0, -1, 2**62, 1e150, -0.0, 5e-324]),
    st.sampled_from(NOT_FINITE),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=10),
    st.booleans(),
)


def steps(draw: st.DrawFn) -> list[dict[str, Any]]:
    size = draw(st.sampled_from([0, 1, 3, 50, INTERMEDIATE_CAP]))
    step = draw(st.sampled_from(["ordered", "duplicate", "reversed", "huge", "any"]))
    out = []
    for i in range(size):
        n = {
            "ordered": i,
            "duplicate": 7,
            "reversed": size - i,
            "huge": 2**63 + i,
            "any": None,
        }[step]
        if n is None:
            n = draw(ints)
        out.append({"step": n, "value": draw(floats) if i < 20 else float(i)})
    return out


def economics(draw: st.DrawFn) -> dict[str, Any]:
    """Fields of a trial's economics to override (the record's others stay)."""
    fields = ["durationSeconds", "cpuSeconds", "energyKWh", "carbonGrams", "costUSD", "vcpu"]
    fields += ["memoryGiB", "gramsPerKWh", "pue"]
    sizes = st.sampled_from([0.0, -0.0, 5e-324, 1.0, 1e150, 1.7e308, math.inf, math.nan])
    out: dict[str, Any] = {f: draw(sizes) for f in draw(st.sets(st.sampled_from(fields)))}
    if draw(st.booleans()):
        out["gpus"] = draw(st.sampled_from([0, 1, 2**63, 10**30]))
        out["gpuModel"] = out["region"] = draw(texts)
    if draw(st.booleans()):
        point = {"time": draw(texts), "gramsPerKWh": draw(sizes)}
        out["intensitySamples"] = [point] * draw(st.integers(0, 24))
    return out


FIELDS = ["state", "metrics", "values", "intermediate", "economics", "violations", "artifacts"]
FIELDS += ["attempts", "times", "parameters", "kind", "ensemble", "reason", "last", "feasible"]
FIELDS += ["pruning", "sampler", "many-metrics"]


@st.composite
def damage(draw: st.DrawFn) -> Callable[[dict[str, Any]], None]:
    """Changes to one record's wire form (several fields at once, each of them valid)."""
    changes: dict[str, Any] = {}
    s: dict[str, Any] = {}
    econ_changes: dict[str, Any] = {}
    pick = draw(st.sets(st.sampled_from(FIELDS), min_size=1, max_size=6))
    if "state" in pick:
        s["state"] = draw(states)
    if "metrics" in pick:
        s["metrics"] = draw(st.dictionaries(names, floats, max_size=5))
    if "many-metrics" in pick:
        s["metrics"] = {f"m{i}": float(i) for i in range(1000)} | {"accuracy": draw(floats)}
    if "values" in pick:
        s["values"] = draw(st.none() | st.lists(values, max_size=4))
    if "intermediate" in pick:
        s["intermediate"] = steps(draw)
    if "economics" in pick:
        s["economics"] = economics(draw) if draw(st.booleans()) else None
        if s["economics"] is not None:
            econ_changes.update(s.pop("economics"))
    if "violations" in pick:
        s["violations"] = draw(st.dictionaries(names, floats, max_size=3))
    if "artifacts" in pick:
        s["artifacts"] = [
            {"name": draw(texts), "path": draw(texts | st.sampled_from(["/etc/passwd", "../../x",
             "s3://b/../k", "predictions.csv"])), "size": draw(st.integers(0, 2**70)),
             "sha256": draw(texts)}
            for _ in range(draw(st.integers(0, 3)))
        ]  # fmt: skip
    if "attempts" in pick:
        counts = st.integers(0, MAX_ATTEMPTS) | ints
        s["attempts"], s["failures"] = draw(counts), draw(counts)
    if "times" in pick:
        s["startTime"] = draw(st.none() | times)
        s["completionTime"] = draw(st.none() | times)
    if "reason" in pick:
        s["reason"], s["message"] = draw(st.none() | texts), draw(st.none() | texts)
    if "last" in pick:
        s["lastIntermediate"] = draw(st.dictionaries(names, floats, max_size=3))
    if "feasible" in pick:
        s["feasible"] = draw(st.none() | st.booleans())
    if "pruning" in pick:
        s["pruningState"] = {"trial": {"successive_halving:completed_rung_0": "x"},
                             "signature": "0" * 64}  # fmt: skip
    if "sampler" in pick:
        changes["samplerState"] = {"trial": {"fixed_params": "x"}, "signature": "0" * 64}
    if "parameters" in pick:
        changes["parameters"] = draw(st.dictionaries(names, param_values, max_size=4))
    if "kind" in pick:
        changes["kind"] = "Ensemble"
        changes["number"] = draw(st.sampled_from([0, 3, 6, 7, 8, MAX_TRIAL_NUMBER]))
    if "ensemble" in pick:
        members = draw(st.lists(st.sampled_from(["demo-0000", "demo-9999", "", "demo-0004",
                                                 "other-0001"]), max_size=4))  # fmt: skip
        s["ensemble"] = {
            "members": [{"trial": m, "weight": draw(st.floats(0, 1))} for m in members],
            "rows": draw(st.integers(0, 2**70)),
            "scores": "votes",
        }
        changes["ensemble"] = {"candidates": members, "size": draw(st.integers(1, 1000))}

    def apply(record: dict[str, Any]) -> None:
        record["spec"].update(changes)
        if econ_changes:
            record["status"]["economics"] = {**record["status"]["economics"], **econ_changes}
        record["status"].update({k: v.isoformat() if isinstance(v, datetime) else v
                                 for k, v in s.items()})  # fmt: skip

    return apply


def damaged(which: int, apply: Callable[[dict[str, Any]], None]) -> tuple[list[Trial] | None, str]:
    """The demo study's records with record `which` damaged (None: the model refuses the
    damaged record), and that record's JSON."""
    out = records()
    doc = out[which].model_dump(mode="json", by_alias=True, exclude_none=True)
    apply(doc)
    if doc["spec"].get("kind") == "Ensemble":
        doc["metadata"]["name"] = doc["metadata"]["labels"][TRIAL_LABEL] = "demo-ensemble"
    text = json.dumps(doc)
    try:
        out[which] = Trial.model_validate_json(text)
    except ValueError:
        return None, text
    return out, text


CPU_BOUND = 5.0
"""CPU seconds a consumer (or a command) may take on seven records, however damaged: the
worst found takes under half a second."""


# -- the consumers ----------------------------------------------------------------------


def spec_with(**extra: Any) -> StudySpec:
    doc = copy.deepcopy(MANIFEST)
    doc["spec"].update(extra)
    return Study.model_validate(doc).spec


SPECS = {
    "plain": lambda: study().spec,
    "median": lambda: spec_with(earlyStopping={"algorithm": "median"}),
    "halving": lambda: spec_with(earlyStopping={"algorithm": "successive-halving"}),
    "hyperband": lambda: spec_with(earlyStopping={"algorithm": "hyperband"}),
}


ATTEMPT_ENDINGS = [
    AttemptOutcome(exit_code=0, metrics={"accuracy": 0.7}, economics=economics_of(1e-5)),
    AttemptOutcome(exit_code=1, detail="boom"),
    AttemptOutcome("pruned"),
    AttemptOutcome("cancelled"),
]


def consume(spec: StudySpec, recs: list[Trial]) -> None:
    """Every engine and operator consumer of a study's records, as the operator admits
    them (`study_records`)."""
    recs = study_records(recs, len(spec.objectives))
    engine = Engine(spec, "random", study="demo", key=KEY)
    engine.ask(recs, 2)
    summary = engine.summarize(recs)
    stop = engine.stop_decision(recs, elapsed_seconds=10.0)
    engine.trials_to_start(recs)
    engine.waiting_to_resume(recs)
    engine.ensemble_due(recs, stop)
    engine.priors_line(recs)
    for record in recs:
        engine.should_prune(recs, record.number)
    found = insights(spec, recs, seed=0)
    param_importances(spec, recs, seed=0)
    propose(spec, recs, found, {"name": "demo"})
    study_status(StudyStatus(), summary, stop, max_trials=7, generation=1, now=datetime.now(UTC))
    for record in recs:  # what an attempt's end makes of each record's status
        lifecycle.needs_attempt(record.status)
        for outcome in ATTEMPT_ENDINGS:
            lifecycle.end_attempt(spec, record.status, outcome, now=NOW, stopped="stopped")
        lifecycle.resume(lifecycle.begin_attempt(record.status))
    observer = PrometheusObserver(CollectorRegistry())
    for record in recs:
        observer.trial_finished("ns", "demo", record)
    observer.study_updated("ns", "demo", spec, "Running", recs, summary)
    observer.insights_updated("ns", "demo", found)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(which=st.integers(0, 6), apply=damage(), kind=st.sampled_from(sorted(SPECS)))
def test_a_damaged_record_breaks_no_consumer(
    which: int, apply: Callable[[dict[str, Any]], None], kind: str
) -> None:
    recs, _ = damaged(which, apply)
    if recs is None:
        return  # refused by the model: each adapter names it in one line (below)
    started = time.process_time()
    consume(SPECS[kind](), recs)
    assert time.process_time() - started < CPU_BOUND


# -- the result commands on a workdir holding such a record -----------------------------

RESULT_COMMANDS = [*READERS, ["ensemble"]]


def run_command(
    workdir: Path, argv: list[str], capsys: pytest.CaptureFixture[str], refused: Path | None
) -> None:
    """Run a result command on `workdir`: exit 0, or 2 with one line (naming `refused`, a
    record the model refuses, when given), never a traceback."""
    command, *rest = argv
    rest = [str(workdir) if a == "SECOND" else a for a in rest]
    started = time.process_time()
    code = cli.main([command, str(workdir), *rest])
    assert time.process_time() - started < CPU_BOUND
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if not line.startswith("warning:")]
    if refused is not None:
        assert code == 2 and len(lines) == 1 and str(refused) in lines[0], err
    elif code == 2:
        assert len(lines) == 1, err
    else:
        assert code == 0, err


NO_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate]
"""Shrinking a failure of seven commands takes minutes; the failing example is shown whole."""


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), phases=NO_SHRINK)
@given(which=st.integers(0, 6), apply=damage())
def test_a_damaged_record_breaks_no_result_command(
    which: int,
    apply: Callable[[dict[str, Any]], None],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recs, text = damaged(which, apply)
    name = json.loads(text)["metadata"]["name"]
    root = tmp_path_factory.mktemp("w")
    workdir = write_workdir(root)
    (workdir / "trials" / f"{records()[which].metadata.name}.json").unlink()
    path = workdir / "trials" / f"{name}.json"
    path.write_text(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("COLUMNS", "200")
        for argv in RESULT_COMMANDS:
            run_command(workdir, argv, capsys, path if recs is None else None)


# -- what the property found, one example each -----------------------------------------


def workdir_with(root: Path, which: int, change: Callable[[dict[str, Any]], None]) -> Path:
    """The demo study's workdir under `root`, record `which` edited by `change`."""
    workdir = write_workdir(root)
    path = workdir / "trials" / f"{records()[which].metadata.name}.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return workdir


def command(workdir: Path, argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main([argv[0], str(workdir), *argv[1:]])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("count", [0, 1, 3])
def test_a_local_record_with_values_not_the_studys_count_is_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], count: int
) -> None:
    """Before: `show` raised ValueError from the Pareto front (one value too few or many)."""
    workdir = workdir_with(tmp_path, 6, lambda r: r["status"].update(values=[0.5] * count))
    for argv in (["show"], ["best"], ["insights"]):
        code, err = command(workdir, argv, capsys)
        assert code == 2
        assert err == (
            f"tradeoff {argv[0]}: {workdir / 'trials' / 'demo-0006.json'}: status.values holds"
            f" {count} value(s), but the study has 2 objective(s); move it away\n"
        )


def test_a_cluster_record_with_values_not_the_studys_count_is_left_out_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: the operator's summary raised ValueError (zip of values and objectives)."""
    spec = study().spec
    recs = records()
    forged = recs[6].model_copy(deep=True)
    forged.metadata.namespace = "ns"
    forged.status.values = [1e150, 1e150, 0.0, 0.0]
    recs[6] = forged
    with caplog.at_level("WARNING", logger="tradeoff.operator"):
        kept = study_records(recs, len(spec.objectives))
        assert study_records(recs, len(spec.objectives)) == kept  # said once
    assert [r.metadata.name for r in kept] == [r.metadata.name for r in recs[:6]]
    assert caplog.messages == [
        "Trial ns/demo-0006: status.values holds 4 value(s), but the study has 2"
        " objective(s); left out"
    ]
    consume(spec, recs)  # every consumer, on the records as the operator admits them


def test_a_record_time_without_its_zone_is_read_as_utc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: every result command raised TypeError comparing naive and aware times."""

    def naive(record: dict[str, Any]) -> None:
        record["status"]["completionTime"] = "2026-01-02T03:06:00"
        record["status"]["startTime"] = "2026-01-02T03:05:00"

    workdir = workdir_with(tmp_path, 4, naive)
    for argv in (["show"], ["export"]):
        code, err = command(workdir, argv, capsys)
        assert (code, err) == (0, "")
    record = Trial.model_validate_json(
        (workdir / "trials" / "demo-0004.json").read_text(encoding="utf-8")
    )
    assert record.status.completion_time == datetime(2026, 1, 2, 3, 6, tzinfo=UTC)
    recs = records()
    recs[4] = record
    consume(study().spec, recs)


@pytest.mark.parametrize(("field", "value"), [("failures", -1_000_000), ("attempts", 10**30)])
def test_attempt_counts_a_trial_cannot_make_are_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: int
) -> None:
    """Before: failures -1000000 was accepted, and each failed attempt was retried while
    failures <= trialTemplate.retries: a million retries instead of at most ten."""
    workdir = workdir_with(tmp_path, 3, lambda r: r["status"].update({field: value}))
    code, err = command(workdir, ["show"], capsys)
    bound = "at least 0" if value < 0 else "at most 1000000000"
    assert code == 2
    assert err == (
        f"tradeoff show: {workdir / 'trials' / 'demo-0003.json'}: not a valid trial record"
        f" (status.{field}: must be {bound} (got {value})); move it away to re-run that"
        " trial\n"
    )


def test_retries_stay_bounded_by_the_template_for_any_record() -> None:
    """However a running trial's record reads, failed attempts stop after the retries."""
    spec = spec_with(trialTemplate={**MANIFEST["spec"]["trialTemplate"], "retries": 2})
    status = TrialStatus.model_validate({"state": "Running", "attempts": 1, "failures": 0})
    retried = 0
    for _ in range(10):
        move = lifecycle.end_attempt(spec, status, AttemptOutcome(exit_code=1), now=NOW)
        if not move.retry:
            break
        retried += 1
        status = lifecycle.started(lifecycle.begin_attempt(move.status), NOW)
    assert retried == 2 and move.status.state == "Failed"
    with pytest.raises(ValueError, match="failures"):
        TrialStatus.model_validate({"state": "Running", "failures": -5})


def test_an_ensemble_trial_numbered_as_a_search_trial_is_left_out_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: every engine decision raised ValueError (two records of number 3), so the
    operator's pass failed each time; its name, `demo-ensemble`, does not say a number."""
    spec = study().spec
    recs = records()
    ensemble = Trial.model_validate(
        {
            **recs[6].wire(),
            "metadata": {"name": "demo-ensemble", "namespace": "ns"},
            "spec": {"study": "demo", "number": 3, "parameters": {}, "kind": "Ensemble"},
        }
    )
    with caplog.at_level("WARNING", logger="tradeoff.operator"):
        kept = study_records([*recs, ensemble], len(spec.objectives))
        study_records([*recs, ensemble], len(spec.objectives))
    assert kept == recs
    assert caplog.messages == [
        "Trial ns/demo-ensemble: trial number 3 is a search trial's; left out"
    ]
    consume(spec, [*recs, ensemble])
    numbered = Trial.model_validate(
        {**ensemble.wire(), "spec": {**ensemble.wire()["spec"], "number": 7}}
    )
    assert study_records([*recs, numbered], 2) == [*recs, numbered]  # its own number: kept


def test_a_local_ensemble_record_numbered_as_a_search_trial_is_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = write_workdir(tmp_path)
    doc = json.loads((workdir / "trials" / "demo-0006.json").read_text())
    doc["metadata"]["name"] = "demo-ensemble"
    doc["spec"] = {"study": "demo", "number": 3, "parameters": {}, "kind": "Ensemble"}
    (workdir / "trials" / "demo-ensemble.json").write_text(json.dumps(doc))
    for argv in RESULT_COMMANDS:
        code, err = command(workdir, [a if a != "SECOND" else str(workdir) for a in argv], capsys)
        assert code == 2
        assert err.endswith(
            f"{workdir / 'trials' / 'demo-ensemble.json'}: trial number 3 is also in"
            " demo-0003.json\n"
        ), err
        assert len(err.splitlines()) == 1


class ListingKube:
    """Test double of the API client: lists the Studies and Trials it was given."""

    def __init__(self, studies: list[dict[str, Any]], trials: list[dict[str, Any]]) -> None:
        self.studies, self.trials = studies, trials

    def list_studies(self, namespace: str) -> list[dict[str, Any]]:
        return self.studies

    def list_trials(self, namespace: str, study: str) -> list[dict[str, Any]]:
        return [t for t in self.trials if t["metadata"]["labels"][STUDY_LABEL] == study]


def test_a_past_studys_trial_with_values_not_its_count_informs_no_choice() -> None:
    """Before: `auto` read a past Study's Trial holding one value for two objectives, and
    resolving the algorithm raised ValueError, failing every pass of the new Study (one
    value too many was read into the next trial's, silently)."""
    doc = copy.deepcopy(MANIFEST)
    doc["spec"]["algorithm"] = {"name": "auto"}
    studies, trials = [], []
    for k in range(3):
        name = f"past{k}"
        past = {**copy.deepcopy(doc), "metadata": {"name": name, "uid": f"u{k}"}}
        past["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
        past["status"] = {"state": "Succeeded", "algorithm": {"name": "random", "reason": "x"}}
        studies.append(past)
        for record in records(name):
            obj = record.wire()
            obj["metadata"]["ownerReferences"] = [owner_reference("Study", name, f"u{k}")]
            trials.append(obj)
    trials[0]["status"]["values"] = [0.9]  # past0-0000: one value too few
    current = Study.model_validate({**doc, "metadata": {"name": "now"}})
    read = history_reader(ListingKube(studies, trials))  # type: ignore[arg-type]
    found = read("ns", current)
    assert [len(p.records) for p in found] == [6, 7, 7]  # past0 without its forged record
    choice = choose_algorithm(current.spec, None, NOW, lambda: found)
    assert choice.name


def test_more_intermediate_values_than_any_trial_keeps_are_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: a record could hold a million steps (a local record may be 64 MiB), and
    every decision's pruning study and every report converted each one."""
    steps = [{"step": i, "value": 0.5} for i in range(INTERMEDIATE_CAP + 1)]
    workdir = workdir_with(tmp_path, 4, lambda r: r["status"].update(intermediate=steps))
    code, err = command(workdir, ["show"], capsys)
    assert code == 2
    assert err == (
        f"tradeoff show: {workdir / 'trials' / 'demo-0004.json'}: not a valid trial record"
        " (status.intermediate: takes at most 1000 item(s) (got 1001)); move it away to re-run"
        " that trial\n"
    )
    steps.pop()
    assert command(workdir_with(tmp_path / "at-cap", 4, lambda r: r["status"].update(
        intermediate=steps)), ["show"], capsys)[0] == 0  # fmt: skip


def _artifact(i: int) -> dict[str, Any]:
    return {"name": f"a{i}.txt", "path": f"artifacts/a{i}.txt", "size": 1, "sha256": "0" * 64}


def _condition(i: int) -> dict[str, Any]:
    return {"type": f"Kind{i}", "status": "True"}


@pytest.mark.parametrize(
    ("field", "cap", "make"),
    [
        ("metrics", METRICS_CAP, lambda n: {f"m{i}": 0.5 for i in range(n)}),
        ("lastIntermediate", METRICS_CAP, lambda n: {f"m{i}": 0.5 for i in range(n)}),
        ("artifacts", ARTIFACTS_CAP, lambda n: [_artifact(i) for i in range(n)]),
        ("conditions", CONDITIONS_CAP, lambda n: [_condition(i) for i in range(n)]),
    ],
)
def test_more_of_a_capped_field_than_any_writer_keeps_is_named_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    field: str,
    cap: int,
    make: Callable[[int], Any],
) -> None:
    """The writers keep at most `cap` (trial_output, local artifacts, one condition a
    type); a record holding more is no record of theirs, and only the record file's size
    limit bounded it before."""
    too_many = make(cap + 1)
    workdir = workdir_with(tmp_path, 4, lambda r: r["status"].update({field: too_many}))
    code, err = command(workdir, ["show"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(
        f"tradeoff show: {workdir / 'trials' / 'demo-0004.json'}: not a valid trial record"
        f" (status.{field}: "
    )
    assert f"at most {cap}" in err and f"(got {cap + 1})" in err
    at_cap = make(cap)
    workdir = workdir_with(tmp_path / "at-cap", 4, lambda r: r["status"].update({field: at_cap}))
    assert command(workdir, ["show"], capsys)[0] == 0

"""`tradeoff.migrate`: Katib Experiments and OptimizationJobs as Study manifests, field by field.

The fixtures in manifests/katib/ are written for these tests in the shape of Katib's and
Kubeflow Trainer's documented examples. Every conversion that succeeds is also validated
as `tradeoff validate` validates a manifest.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tradeoff.engine.validation import validate_study
from tradeoff.migrate import Conversion, ImportProblem, convert

MANIFESTS = Path(__file__).parent / "manifests" / "katib"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((MANIFESTS / name).read_text())  # type: ignore[no-any-return]


def valid(document: dict[str, Any], name: str | None = None) -> Conversion:
    """The conversion of `document`, checked to pass `tradeoff validate`'s validation."""
    conversion = convert(document, name)
    validate_study(conversion.manifest, "converted")
    return conversion


def notes_at(conversion: Conversion, where: str) -> list[str]:
    return [n for n in conversion.notes if n.startswith(f"{where}: ")]


# --- the random search over a Job -------------------------------------------------------


def test_a_random_search_over_a_job_maps_field_by_field() -> None:
    conversion = valid(load("random-job.yaml"))
    assert conversion.source == "Katib Experiment random"
    assert conversion.manifest == {
        "apiVersion": "tradeoff.dev/v1alpha1",
        "kind": "Study",
        "metadata": {"name": "random", "namespace": "kubeflow"},
        "spec": {
            "objectives": [{"name": "accuracy", "direction": "maximize"}],
            "parameters": [
                {"name": "n_estimators", "type": "int", "low": 10, "high": 40, "step": 5},
                {"name": "max_depth", "type": "int", "low": 2, "high": 8},
                {"name": "scaler", "type": "categorical", "values": ["none", "standard", "minmax"]},
                {"name": "data_fraction", "type": "categorical", "values": [0.5, 0.75, 1.0]},
            ],
            "algorithm": {"name": "random", "seed": 7},
            "budget": {"maxTrials": 4, "parallelism": 2, "maxFailedTrials": 2},
            "goal": {"accuracy": 0.99},
            "trialTemplate": {
                "primaryContainer": "training-container",
                "workload": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "backoffLimit": 1,
                        "activeDeadlineSeconds": 120,
                        "template": {
                            "spec": {
                                "containers": [
                                    {
                                        "name": "training-container",
                                        "image": "tradeoff:0.1.0",
                                        "command": [
                                            "python",
                                            "-m",
                                            "trial_runner.sklearn",
                                            "--dataset=digits",
                                            "--model=forest",
                                            "--n_estimators=${params.n_estimators}",
                                            "--max_depth=${params.max_depth}",
                                            "--scaler=${params.scaler}",
                                            "--data_fraction=${params.data_fraction}",
                                        ],
                                        "resources": {"requests": {"cpu": "1", "memory": "512Mi"}},
                                    }
                                ],
                                "restartPolicy": "Never",
                            }
                        },
                    },
                },
            },
        },
    }


def test_a_random_search_over_a_job_lists_what_changed() -> None:
    conversion = valid(load("random-job.yaml"))
    assert conversion.notes == [
        "spec.parameters[0].name: 'n-estimators' is named 'n_estimators'"
        " (parameter names are identifiers)",
        "spec.parameters[3].name: 'data-fraction' is named 'data_fraction'"
        " (parameter names are identifiers)",
        "spec.parameters[3].parameterType: discrete became categorical over the same numbers"
        " (the sampler does not use their order)",
        "spec.objective.additionalMetricNames: balanced_accuracy: Tradeoff records every metric"
        " a trial reports; to optimise one as well, add it to spec.objectives (a Study has"
        " several objectives)",
        "spec.objective.metricStrategies: Katib took the max of the values a trial printed for"
        " accuracy; Tradeoff takes the last one printed (print the final value last)",
        "spec.trialTemplate.trialSpec.kind: the whole Job runs as each trial"
        " (trialTemplate.workload): the cluster admin must allow Job (batch/v1) in the Helm"
        " value trialPolicy.workloads",
    ]


def test_the_name_can_be_given() -> None:
    conversion = valid(load("random-job.yaml"), name="from-katib")
    assert conversion.manifest["metadata"]["name"] == "from-katib"


# --- the PyTorchJob with Master and Worker replicas -------------------------------------


def test_a_pytorchjob_is_kept_whole_master_and_workers() -> None:
    conversion = valid(load("pytorchjob.yaml"))
    template = conversion.manifest["spec"]["trialTemplate"]
    assert template["primaryContainer"] == "pytorch"
    workload = template["workload"]
    assert (workload["apiVersion"], workload["kind"]) == ("kubeflow.org/v1", "PyTorchJob")
    assert "primaryReplica" not in workload  # Master, the default
    replicas = workload["spec"]["pytorchReplicaSpecs"]
    assert replicas["Worker"]["replicas"] == 2
    assert replicas["Master"]["restartPolicy"] == "OnFailure"  # the training operator's
    [container] = replicas["Master"]["template"]["spec"]["containers"]
    assert container["command"][-3:] == [
        "--lr=${params.lr}",
        "--momentum=${params.momentum}",
        "--log-path=/var/log/katib/metrics.log",  # only the Master's command has this
    ]
    assert container["env"] == [{"name": "RUN_NAME", "value": "${trial.name}"}]
    [worker] = replicas["Worker"]["template"]["spec"]["containers"]
    assert "--lr=${params.lr}" in worker["command"]
    assert not [n for n in conversion.notes if "replica(s) dropped" in n]
    assert notes_at(conversion, "spec.trialTemplate.trialSpec.kind") == [
        "spec.trialTemplate.trialSpec.kind: the whole PyTorchJob runs as each trial"
        " (trialTemplate.workload): the cluster admin must allow PyTorchJob (kubeflow.org/v1)"
        " in the Helm value trialPolicy.workloads"
    ]


def test_a_pytorchjob_experiment_maps_its_search_and_budget() -> None:
    conversion = valid(load("pytorchjob.yaml"))
    spec = conversion.manifest["spec"]
    assert spec["objectives"] == [{"name": "loss", "direction": "minimize"}]
    assert spec["goal"] == {"loss": 0.001}
    assert spec["parameters"] == [
        {"name": "lr", "type": "float", "low": 0.001, "high": 0.1, "log": True},
        {"name": "momentum", "type": "float", "low": 0.5, "high": 0.9},
    ]
    assert spec["algorithm"] == {"name": "gp", "seed": 10, "settings": {"nStartupTrials": 4}}
    assert spec["earlyStopping"] == {
        "algorithm": "median",
        "settings": {"nStartupTrials": 2, "nWarmupSteps": 3},
    }
    assert spec["budget"] == {"maxTrials": 12, "parallelism": 3, "maxFailedTrials": 3}
    assert notes_at(conversion, "spec.algorithm.algorithmSettings") == [
        "spec.algorithm.algorithmSettings: settings with no Tradeoff counterpart dropped:"
        " acq_func=gp_hedge"
    ]
    # The metric strategy is `latest`, as Tradeoff reads metrics: nothing to say about it.
    assert notes_at(conversion, "spec.objective.metricStrategies") == []
    [collector] = notes_at(conversion, "spec.metricsCollectorSpec.collector.kind")
    assert "File: metrics were read from the file /var/log/katib/metrics.log" in collector
    assert "name=value lines (Katib's StdOut format) or with trial_runner.report()" in collector


# --- the OptimizationJob ------------------------------------------------------------------


def test_an_optimization_job_maps_field_by_field() -> None:
    conversion = valid(load("optimizationjob.yaml"))
    assert conversion.source == "OptimizationJob tuning-job"
    assert conversion.manifest["metadata"] == {"name": "tuning-job"}
    spec = conversion.manifest["spec"]
    assert spec["objectives"] == [{"name": "val_loss", "direction": "minimize"}]
    assert spec["parameters"] == [
        {"name": "learning_rate", "type": "float", "low": 0.0001, "high": 0.1, "log": True},
        {"name": "num_layers", "type": "int", "low": 2, "high": 6},
        {"name": "batch_size", "type": "categorical", "values": ["16", "32", "64"]},
    ]
    assert spec["algorithm"] == {"name": "random", "seed": 42}
    assert spec["budget"] == {"maxTrials": 20, "parallelism": 4, "maxFailedTrials": 20}
    assert spec["trialTemplate"] == {
        "workload": {  # the whole TrainJob: its runtime, both nodes
            "apiVersion": "trainer.kubeflow.org/v1alpha1",
            "kind": "TrainJob",
            "spec": {
                "runtimeRef": {
                    "apiGroup": "trainer.kubeflow.org",
                    "kind": "ClusterTrainingRuntime",
                    "name": "torch-distributed",
                },
                "trainer": {
                    "image": "docker.io/my-org/bert-tuner:latest",
                    "command": ["python", "train.py"],
                    "numNodes": 2,
                    "resourcesPerNode": {"requests": {"cpu": "2", "memory": "4Gi"}},
                    # The OptimizationJob's way of passing parameters, kept for the trial.
                    "env": [
                        {
                            "name": "KUBEFLOW_TRAINER_OPT_LEARNING_RATE",
                            "value": "${params.learning_rate}",
                        },
                        {
                            "name": "KUBEFLOW_TRAINER_OPT_NUM_LAYERS",
                            "value": "${params.num_layers}",
                        },
                        {
                            "name": "KUBEFLOW_TRAINER_OPT_BATCH_SIZE",
                            "value": "${params.batch_size}",
                        },
                    ],
                },
            },
        }
    }
    assert conversion.notes == [
        "spec: an OptimizationJob has no failure budget; maxFailedTrials is set to the trial"
        " budget",
        "spec.trainJobTemplate: the whole TrainJob runs as each trial (trialTemplate.workload):"
        " the cluster admin must allow TrainJob (trainer.kubeflow.org/v1alpha1) in the Helm"
        " value trialPolicy.workloads",
        "spec.objectives: OptimizationJob trials push val_loss to the Trainer's progress API; a"
        " Tradeoff trial prints it on standard output: a line val_loss=VALUE, or"
        " trial_runner.report()",
    ]


def test_an_optimization_jobs_parameter_variables_in_args_become_references() -> None:
    doc = load("optimizationjob.yaml")
    doc["spec"]["parameters"][1]["name"] = "num-layers"
    trainer = doc["spec"]["trainJobTemplate"]["spec"]["trainer"]
    trainer["args"] = [
        "--lr=$(KUBEFLOW_TRAINER_OPT_LEARNING_RATE)",
        "--layers",
        "$(KUBEFLOW_TRAINER_OPT_NUM_LAYERS)",
        "--seed=$(KUBEFLOW_TRAINER_OPT_SEED)",
    ]
    trainer["env"] = [
        {"name": "HF_HOME", "value": "/cache"},
        {"name": "KUBEFLOW_TRAINER_OPT_BATCH_SIZE", "value": "8"},  # the OptimizationJob's
    ]
    doc["spec"]["trainJobTemplate"]["spec"]["podTemplateOverrides"] = [
        {"targetJobs": [{"name": "node"}], "spec": {"serviceAccountName": "trainer"}}
    ]
    del trainer["command"]
    conversion = valid(doc)
    out = conversion.manifest["spec"]["trialTemplate"]["workload"]["spec"]["trainer"]
    assert out["args"] == [
        "--lr=${params.learning_rate}",
        "--layers",
        "${params.num_layers}",
        "--seed=$(KUBEFLOW_TRAINER_OPT_SEED)",
    ]
    assert [e["name"] for e in out["env"]] == [
        "HF_HOME",
        "KUBEFLOW_TRAINER_OPT_LEARNING_RATE",
        "KUBEFLOW_TRAINER_OPT_NUM_LAYERS",  # as the OptimizationJob names `num-layers`'s
        "KUBEFLOW_TRAINER_OPT_BATCH_SIZE",
    ]
    where = "spec.trainJobTemplate.spec.trainer"
    assert notes_at(conversion, where) == [
        f"{where}: KUBEFLOW_TRAINER_OPT_SEED: no parameter of the OptimizationJob; left as is"
    ]
    assert notes_at(conversion, "spec.trainJobTemplate.spec") == [
        "spec.trainJobTemplate.spec: TrainJob fields not carried over: podTemplateOverrides (a"
        " trial's TrainJob takes its pods' settings from the runtime)"
    ]
    assert notes_at(conversion, f"{where}.command")[0].endswith(
        "local mode runs the trainer's command, so it needs one"
    )
    assert "spec.parameters[1].name: 'num-layers' is named 'num_layers'" in conversion.notes


def test_an_optimization_job_of_the_proposal_shape_grid_and_maximize() -> None:
    doc = load("optimizationjob.yaml")
    spec = doc["spec"]
    spec["trialPolicy"] = {"numTrials": spec.pop("numTrials"), "parallelTrials": 2}
    del spec["parallelTrials"]
    spec["searchAlgorithm"] = {"grid": {}}
    spec["objectives"] = [{"metric": "accuracy", "direction": "Maximize"}]
    spec["parameters"] = [spec["parameters"][2]]
    out = valid(doc).manifest["spec"]
    assert out["algorithm"] == {"name": "grid"}
    assert out["budget"] == {"maxTrials": 20, "parallelism": 2, "maxFailedTrials": 20}
    assert out["objectives"] == [{"name": "accuracy", "direction": "maximize"}]


def test_a_trainjob_without_an_image_takes_the_runtimes() -> None:
    doc = load("optimizationjob.yaml")
    del doc["spec"]["trainJobTemplate"]["spec"]["trainer"]["image"]
    trainer = valid(doc).manifest["spec"]["trialTemplate"]["workload"]["spec"]["trainer"]
    assert "image" not in trainer


# --- algorithms ---------------------------------------------------------------------------


def _with_algorithm(fixture: str, name: str, settings: dict[str, str]) -> dict[str, Any]:
    doc = load(fixture)
    doc["spec"]["algorithm"] = {
        "algorithmName": name,
        "algorithmSettings": [{"name": k, "value": v} for k, v in settings.items()],
    }
    doc["spec"].pop("earlyStopping", None)
    return doc


@pytest.mark.parametrize(
    ("fixture", "katib", "settings", "algorithm", "pruner"),
    [
        ("random-job.yaml", "random", {"random_state": "3"}, {"name": "random", "seed": 3}, None),
        ("random-job.yaml", "grid", {}, {"name": "grid"}, None),
        (
            "random-job.yaml",
            "tpe",
            {"n_startup_trials": "5", "n_ei_candidates": "12", "random_state": "1"},
            {"name": "tpe", "seed": 1, "settings": {"nStartupTrials": 5, "nEiCandidates": 12}},
            None,
        ),
        (
            "random-job.yaml",
            "multivariate-tpe",
            {},
            {"name": "tpe", "settings": {"multivariate": True}},
            None,
        ),
        ("pytorchjob.yaml", "bayesianoptimization", {}, {"name": "gp"}, None),
        (
            "pytorchjob.yaml",
            "cmaes",
            {"sigma": "0.2", "restart_strategy": "ipop", "random_state": "5"},
            {"name": "cmaes", "seed": 5},
            None,
        ),
        ("pytorchjob.yaml", "cmaes", {"restart_strategy": "none"}, {"name": "cmaes"}, None),
        ("random-job.yaml", "sobol", {}, {"name": "qmc"}, None),
        (
            "random-job.yaml",
            "hyperband",
            {"eta": "3", "r_l": "9", "resource_name": "n-estimators"},
            {"name": "random"},
            {"algorithm": "hyperband", "settings": {"reductionFactor": 3}},
        ),
        ("random-job.yaml", "pbt", {}, {"name": "random"}, None),
        ("random-job.yaml", "nevergrad", {}, {"name": "auto"}, None),
    ],
)
def test_katib_algorithms_map_to_the_nearest_sampler(
    fixture: str,
    katib: str,
    settings: dict[str, str],
    algorithm: dict[str, Any],
    pruner: dict[str, Any] | None,
) -> None:
    conversion = valid(_with_algorithm(fixture, katib, settings))
    spec = conversion.manifest["spec"]
    assert spec["algorithm"] == algorithm
    assert spec.get("earlyStopping") == pruner
    said = notes_at(conversion, "spec.algorithm.algorithmName")
    same = katib in ("random", "grid", "tpe", "multivariate-tpe", "cmaes")
    assert (said == []) is same, said


def test_hyperband_notes_the_settings_and_early_stopping_it_drops() -> None:
    doc = _with_algorithm("random-job.yaml", "hyperband", {"eta": "3", "r_l": "9"})
    doc["spec"]["earlyStopping"] = {"algorithmName": "medianstop"}
    conversion = valid(doc)
    assert conversion.manifest["spec"]["earlyStopping"]["algorithm"] == "hyperband"
    assert notes_at(conversion, "spec.algorithm.algorithmSettings") == [
        "spec.algorithm.algorithmSettings: settings with no Tradeoff counterpart dropped: r_l=9"
    ]
    assert notes_at(conversion, "spec.earlyStopping") == [
        "spec.earlyStopping: dropped: hyperband's pruner stops the trials instead"
    ]


def test_cmaes_restarts_are_dropped_and_noted() -> None:
    # Optuna's CMA-ES ignores restart_strategy since 4.4 and deprecated sigma0 in 4.9.
    doc = _with_algorithm("pytorchjob.yaml", "cmaes", {"restart_strategy": "ipop", "sigma": "0.2"})
    assert notes_at(valid(doc), "spec.algorithm.algorithmSettings") == [
        "spec.algorithm.algorithmSettings: settings with no Tradeoff counterpart dropped:"
        " restart_strategy=ipop, sigma=0.2"
    ]


@pytest.mark.parametrize("katib", ["enas", "darts"])
def test_neural_architecture_search_cannot_be_imported(katib: str) -> None:
    doc = _with_algorithm("random-job.yaml", katib, {})
    with pytest.raises(ImportProblem, match="neural architecture search"):
        convert(doc)


def test_other_early_stopping_is_listed_and_dropped() -> None:
    doc = load("random-job.yaml")
    doc["spec"]["earlyStopping"] = {"algorithmName": "somethingelse"}
    conversion = valid(doc)
    assert "earlyStopping" not in conversion.manifest["spec"]
    assert notes_at(conversion, "spec.earlyStopping.algorithmName") == [
        "spec.earlyStopping.algorithmName: somethingelse: no Tradeoff counterpart;"
        " no early stopping"
    ]


# --- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "space", "expected", "noted"),
    [
        ("int", {"min": "1", "max": "9", "step": "1"}, {"type": "int", "low": 1, "high": 9}, False),
        (
            "double",
            {"min": "0.1", "max": "0.9", "step": "0.1"},
            {"type": "float", "low": 0.1, "high": 0.9, "step": 0.1},
            False,
        ),
        (
            "int",
            {"min": "32", "max": "256", "step": "2", "distribution": "logUniform"},
            {"type": "int", "low": 32, "high": 256, "log": True},
            True,
        ),
        (
            "double",
            {"min": 0, "max": 1, "distribution": "normal"},
            {"type": "float", "low": 0.0, "high": 1.0},
            True,
        ),
        (
            "double",
            {"min": "0.01", "max": "1", "distribution": "logNormal"},
            {"type": "float", "low": 0.01, "high": 1.0, "log": True},
            True,
        ),
        ("discrete", {"list": ["1", "2", "4"]}, {"type": "categorical", "values": [1, 2, 4]}, True),
        ("categorical", {"list": [1, 2]}, {"type": "categorical", "values": ["1", "2"]}, False),
    ],
)
def test_parameter_types_ranges_and_lists(
    kind: str, space: dict[str, Any], expected: dict[str, Any], noted: bool
) -> None:
    doc = load("pytorchjob.yaml")
    doc["spec"]["parameters"][1] = {
        "name": "momentum",
        "parameterType": kind,
        "feasibleSpace": space,
    }
    doc["spec"]["algorithm"] = {"algorithmName": "random"}
    conversion = valid(doc)
    assert conversion.manifest["spec"]["parameters"][1] == {"name": "momentum", **expected}
    said = [n for n in conversion.notes if n.startswith("spec.parameters[1]")]
    assert bool(said) is noted, said


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"feasibleSpace": {"min": "a", "max": "1"}},
            r"feasibleSpace.min: must be a number \(got 'a'\)",
        ),
        (
            {"feasibleSpace": {"max": "1"}},
            r"feasibleSpace.min: an double parameter needs min and max",
        ),
        (
            {"parameterType": "float"},
            r"parameterType: must be int, double, categorical or discrete",
        ),
        (
            {"parameterType": "categorical"},
            r"feasibleSpace.list: a categorical parameter needs a list",
        ),
    ],
)
def test_a_parameter_that_cannot_be_read_is_one_problem(
    change: dict[str, Any], message: str
) -> None:
    doc = load("pytorchjob.yaml")
    doc["spec"]["parameters"][1].update(change)
    with pytest.raises(ImportProblem, match=rf"^spec.parameters\[1\].{message}"):
        convert(doc)


def test_names_that_clash_once_made_identifiers_stay_apart() -> None:
    doc = load("pytorchjob.yaml")
    doc["spec"]["parameters"][1]["name"] = "--lr"
    doc["spec"]["trialTemplate"]["trialParameters"][1]["reference"] = "--lr"
    params = valid(doc).manifest["spec"]["parameters"]
    assert [p["name"] for p in params] == ["lr", "lr_2"]


def test_a_parameter_the_template_never_uses_is_noted() -> None:
    doc = load("random-job.yaml")
    command = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][
        0
    ]["command"]
    command.remove("--scaler=${trialParameters.scaler}")
    assert notes_at(valid(doc), "spec.parameters") == [
        "spec.parameters: scaler: not referenced by the trial template; the trial gets them in"
        " TRADEOFF_PARAMS (JSON) only"
    ]


# --- budget -------------------------------------------------------------------------------


def test_budgets_katib_leaves_unset() -> None:
    doc = load("random-job.yaml")
    for key in ("maxTrialCount", "parallelTrialCount", "maxFailedTrialCount"):
        del doc["spec"][key]
    conversion = valid(doc)
    # Katib's default parallelism is 3; no failure budget becomes the default trial budget.
    assert conversion.manifest["spec"]["budget"] == {"parallelism": 3, "maxFailedTrials": 20}
    assert len(notes_at(conversion, "spec.maxTrialCount")) == 1
    assert len(notes_at(conversion, "spec.maxFailedTrialCount")) == 1


def test_no_failed_trial_allowed_is_one() -> None:
    doc = load("random-job.yaml")
    doc["spec"]["maxFailedTrialCount"] = 0
    conversion = valid(doc)
    assert conversion.manifest["spec"]["budget"]["maxFailedTrials"] == 1
    assert notes_at(conversion, "spec.maxFailedTrialCount")


# --- references ---------------------------------------------------------------------------


def _pytorch_with_reference(reference: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    doc = load("pytorchjob.yaml")
    doc["spec"]["trialTemplate"]["trialParameters"][2]["reference"] = reference
    if labels is not None:
        doc["spec"]["trialTemplate"]["trialSpec"]["metadata"] = {"labels": labels}
    return doc


@pytest.mark.parametrize(
    ("reference", "value"),
    [
        ("${trialSpec.Name}", "${trial.name}"),
        ("${trialSpec.Namespace}", "kubeflow"),
        ("${trialSpec.Kind}", "PyTorchJob"),
        ("${trialSpec.APIVersion}", "kubeflow.org/v1"),
        ("${trialSpec.Labels[team]}", "vision"),
        ("momentum", "${params.momentum}"),
    ],
)
def test_trial_parameter_references_resolve(reference: str, value: str) -> None:
    doc = _pytorch_with_reference(reference, labels={"team": "vision"})
    workload = valid(doc).manifest["spec"]["trialTemplate"]["workload"]
    pod = workload["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    assert pod["containers"][0]["env"] == [{"name": "RUN_NAME", "value": value}]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nothing", r"reference: 'nothing' names no parameter \(parameters: lr, momentum\)"),
        (
            "${trialSpec.Labels[team]}",
            r"reference: \$\{trialSpec.Labels\[team\]\}: the trialSpec sets no such label",
        ),
    ],
)
def test_a_reference_that_resolves_to_nothing_is_one_problem(reference: str, message: str) -> None:
    with pytest.raises(ImportProblem, match=rf"^spec.trialTemplate.trialParameters\[2\].{message}"):
        convert(_pytorch_with_reference(reference))


def test_an_undeclared_trial_parameter_in_the_template_is_one_problem() -> None:
    doc = load("random-job.yaml")
    doc["spec"]["trialTemplate"]["trialParameters"].pop(0)
    with pytest.raises(
        ImportProblem,
        match=r"^spec.trialTemplate.trialSpec: "
        r"\$\{trialParameters.numberEstimators\} names no entry",
    ):
        convert(doc)


# --- workloads ----------------------------------------------------------------------------


def _tfjob(replicas: dict[str, Any]) -> dict[str, Any]:
    doc = load("pytorchjob.yaml")
    master = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]["pytorchReplicaSpecs"]["Master"]
    doc["spec"]["trialTemplate"]["trialSpec"] = {
        "apiVersion": "kubeflow.org/v1",
        "kind": "TFJob",
        "spec": {
            "tfReplicaSpecs": {
                name: copy.deepcopy(master) | {"replicas": n} for name, n in replicas.items()
            }
        },
    }
    return doc


def test_a_tfjob_is_kept_whole_with_its_chief_first() -> None:
    conversion = valid(_tfjob({"PS": 1, "Chief": 1, "Worker": 4}))
    workload = conversion.manifest["spec"]["trialTemplate"]["workload"]
    assert workload["kind"] == "TFJob"
    assert workload["spec"]["tfReplicaSpecs"]["Worker"]["replicas"] == 4
    assert workload["podTemplates"] == [
        "spec.tfReplicaSpecs.Chief.template",
        "spec.tfReplicaSpecs.PS.template",
        "spec.tfReplicaSpecs.Worker.template",
    ]
    assert workload["successCondition"] == "status.conditions[type=Succeeded].status == True"
    assert workload["failureCondition"] == "status.conditions[type=Failed].status == True"
    assert any("the Chief replica's first pod reports the metrics" in n for n in conversion.notes)


def test_a_job_of_workers_only_reports_from_the_first_worker() -> None:
    conversion = valid(_tfjob({"Worker": 3}))
    workload = conversion.manifest["spec"]["trialTemplate"]["workload"]
    assert workload["podTemplates"] == ["spec.tfReplicaSpecs.Worker.template"]
    assert any("the Worker replica's first pod reports the metrics" in n for n in conversion.notes)


def test_a_job_is_kept_whole_parallelism_labels_and_all() -> None:
    doc = load("random-job.yaml")
    job = doc["spec"]["trialTemplate"]["trialSpec"]["spec"]
    job.update(parallelism=2, completions=4)
    job["template"]["metadata"] = {"labels": {"app": "mnist"}}
    job["template"]["spec"]["restartPolicy"] = "OnFailure"
    conversion = valid(doc)
    kept = conversion.manifest["spec"]["trialTemplate"]["workload"]["spec"]
    assert (kept["parallelism"], kept["completions"]) == (2, 4)
    assert kept["template"]["metadata"] == {"labels": {"app": "mnist"}}
    assert kept["template"]["spec"]["restartPolicy"] == "OnFailure"
    assert notes_at(conversion, "spec.trialTemplate.trialSpec.spec") == []


def test_a_katib_trainjob_trial_is_kept_as_a_trainjob() -> None:
    doc = load("pytorchjob.yaml")
    doc["spec"]["trialTemplate"]["trialSpec"] = {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "trainer": {
                "numNodes": 2,
                "image": "mnist:1",
                "command": ["python3", "--lr=${trialParameters.learningRate}"],
            },
        },
    }
    conversion = valid(doc)
    template = conversion.manifest["spec"]["trialTemplate"]
    assert "primaryContainer" not in template
    assert template["workload"] == {
        "apiVersion": "trainer.kubeflow.org/v1alpha1",
        "kind": "TrainJob",
        "spec": {
            "runtimeRef": {"name": "torch-distributed"},
            "trainer": {
                "numNodes": 2,
                "image": "mnist:1",
                "command": ["python3", "--lr=${params.lr}"],
            },
        },
    }
    assert notes_at(conversion, "spec.trialTemplate.primaryContainerName")


@pytest.mark.parametrize(
    ("trial_spec", "message"),
    [
        (
            {"apiVersion": "tekton.dev/v1beta1", "kind": "PipelineRun", "spec": {}},
            r"^spec.trialTemplate.trialSpec.kind: a PipelineRun \(tekton.dev/v1beta1\)"
            r" cannot be imported",
        ),
        (
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "spec": {"template": {"spec": {"containers": []}}},
            },
            r"^spec.trialTemplate.trialSpec.spec.template.spec.containers:"
            r" the pod template has no containers",
        ),
    ],
)
def test_a_workload_that_cannot_be_imported_is_one_problem(
    trial_spec: dict[str, Any], message: str
) -> None:
    doc = load("random-job.yaml")
    doc["spec"]["trialTemplate"]["trialSpec"] = trial_spec
    with pytest.raises(ImportProblem, match=message):
        convert(doc)


def test_the_primary_container_must_be_in_the_pod() -> None:
    doc = load("random-job.yaml")
    doc["spec"]["trialTemplate"]["primaryContainerName"] = "trainer"
    with pytest.raises(
        ImportProblem,
        match=r"^spec.trialTemplate.primaryContainerName: no container named 'trainer'.*"
        r"\(containers: training-container\)",
    ):
        convert(doc)


# --- what is not an importable Experiment ---------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([1, 2], r"^expected a Katib Experiment .* \(got a list\)"),
        (
            {"apiVersion": "apps/v1", "kind": "Deployment"},
            r"^kind: expected a Katib Experiment .*, got Deployment \(apps/v1\)",
        ),
        (
            {"apiVersion": "kubeflow.org/v1alpha3", "kind": "Experiment"},
            r"^apiVersion: kubeflow.org/v1alpha3 is not supported",
        ),
        (
            {"apiVersion": "trainer.kubeflow.org/v1beta1", "kind": "OptimizationJob"},
            r"^apiVersion: trainer.kubeflow.org/v1beta1 is not supported",
        ),
        (
            {"apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment"},
            r"^spec: the Experiment has no spec",
        ),
    ],
)
def test_what_is_not_an_experiment_or_optimization_job(document: Any, message: str) -> None:
    with pytest.raises(ImportProblem, match=message):
        convert(document)


def test_a_template_in_a_configmap_cannot_be_imported() -> None:
    doc = load("random-job.yaml")
    doc["spec"]["trialTemplate"] = {
        "configMap": {"configMapName": "trial-templates", "templatePath": "job"}
    }
    with pytest.raises(
        ImportProblem, match=r"^spec.trialTemplate.configMap: .* ConfigMap 'trial-templates'"
    ):
        convert(doc)


def test_an_objective_without_a_direction_is_one_problem() -> None:
    doc = load("random-job.yaml")
    del doc["spec"]["objective"]["type"]
    with pytest.raises(ImportProblem, match=r"^spec.objective.type: must be maximize or minimize"):
        convert(doc)

"""One table of trial scenarios, run through local mode and through the operator.

Each scenario is a small Study whose trials run `python -c CODE`, and what its trials and
the study must end as: state, reason and message (a regular expression, `{study}` standing
for the study's name). `tests/integration/test_scenarios.py` runs every scenario with
`tradeoff run`; `tests/e2e/test_operator_scenarios.py` applies them all to one operator on
the API emulator. Both assert the same table: the two modes share one lifecycle.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

PRELUDE = (
    "import json, os, random, sys, time\n"
    "N = int(os.environ['TRADEOFF_TRIAL'].rsplit('-', 1)[1])\n"
    "def report(**m): print('TRADEOFF_METRICS ' + json.dumps(m), flush=True)\n"
)
"""Every scenario's code starts with this: `N` is the trial number, `report` prints."""

MARKERS = "SCENARIO_MARKERS"
"""Environment variable naming a scratch folder the trials may write to (retries)."""


@dataclass(frozen=True)
class Outcome:
    """What a trial (or the study) ends as: state, reason, message pattern."""

    state: str
    reason: str | None
    message: str | None = None

    def matches(self, state: str, reason: str | None, message: str | None, study: str) -> bool:
        if (state, reason) != (self.state, self.reason):
            return False
        if self.message is None:
            return message is None
        pattern = self.message.replace("{study}", study)
        return message is not None and re.fullmatch(pattern, message) is not None


@dataclass(frozen=True)
class Scenario:
    name: str
    code: str
    trials: dict[int, Outcome]
    """The expected end of each trial, by number (every trial of the study is listed)."""
    study: Outcome
    spec: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    template: dict[str, Any] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    """Attempts expected of some trials (retries)."""
    failed: int | None = None
    """Failed trials the study must count, exactly."""

    def manifest(self, markers: str) -> dict[str, Any]:
        """The Study, runnable by `tradeoff run` and by the operator alike."""
        container = {
            "name": "trial",
            "image": "tradeoff:0.1.0",
            "command": ["python", "-c", PRELUDE + self.code],
            "env": [{"name": MARKERS, "value": markers}],
            "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}},
        }
        return {
            "apiVersion": "tradeoff.dev/v1alpha1",
            "kind": "Study",
            "metadata": {"name": self.name},
            "spec": {
                "objectives": [
                    {"name": "accuracy", "direction": "maximize"},
                    {"name": "cost", "direction": "minimize"},
                ],
                "parameters": [{"name": "x", "type": "float", "low": 0.0, "high": 1.0}],
                "algorithm": {"name": "random", "seed": 3},
                "budget": {"maxTrials": 1, "parallelism": 1, "maxFailedTrials": 1, **self.budget},
                "trialTemplate": {
                    "activeDeadline": "1m",
                    **self.template,
                    "pod": {"containers": [container]},
                },
                **self.spec,
            },
        }


OK = Outcome("Succeeded", None)
ALL_RAN = Outcome("Succeeded", "MaxTrialsReached", r"all \d+ trials ran")
ONE_FAILED = Outcome("Failed", "TooManyFailedTrials", r"1 trials failed \(maxFailedTrials is 1\)")

SCENARIOS = [
    Scenario(
        "sc-ok",
        "report(accuracy=0.75)\n",
        {0: OK},
        ALL_RAN,
    ),
    Scenario(
        "sc-exit",
        "print('training', flush=True)\n"
        "sys.stderr.write('Traceback (most recent call last):\\n')\n"
        "sys.stderr.write('RuntimeError: training diverged\\n')\n"
        "sys.exit(3)\n",
        {0: Outcome("Failed", "Error", "exited with code 3: RuntimeError: training diverged")},
        ONE_FAILED,
    ),
    Scenario(
        "sc-deadline",
        "print('working', flush=True)\ntime.sleep(60)\n",
        {0: Outcome("Failed", "DeadlineExceeded", "stopped after its activeDeadline of 2s")},
        ONE_FAILED,
        template={"activeDeadline": "2s"},
    ),
    Scenario(
        "sc-garbage",
        "sys.stdout.buffer.write(random.Random(0).randbytes(4000))\n",
        {
            0: Outcome(
                "Failed",
                "MetricsMissing",
                r"no value for objective\(s\) accuracy \(reported: none\)",
            )
        },
        ONE_FAILED,
    ),
    Scenario(
        "sc-nan",
        "print('TRADEOFF_METRICS {\"accuracy\": NaN}')\n",
        {
            0: Outcome(
                "Failed",
                "MetricsInvalid",
                r"objective\(s\) not a finite number within ±1e\+150: accuracy=nan",
            )
        },
        ONE_FAILED,
    ),
    Scenario(
        "sc-missing",
        "print('loss=0.3')\n",
        {
            0: Outcome(
                "Failed",
                "MetricsMissing",
                r"no value for objective\(s\) accuracy \(reported: loss\)",
            )
        },
        ONE_FAILED,
    ),
    Scenario(
        "sc-prune",
        # Trial 0 learns well; trial 1 badly, then stalls after step 2 (the first step the
        # pruner may judge), so it is pruned there in both modes.
        "good = N == 0\n"
        "for step in range(5 if good else 3):\n"
        "    report(step=step, accuracy=(0.9 if good else 0.1) * (step + 1) / 5)\n"
        "    time.sleep(0.2)\n"
        "if not good: time.sleep(60)\n"
        "report(accuracy=0.9)\n",
        {0: OK, 1: Outcome("Pruned", "Pruned", r"median stopped it at step 2 \(accuracy=0\.06\)")},
        ALL_RAN,
        spec={
            "earlyStopping": {
                "algorithm": "median",
                "metric": "accuracy",
                "settings": {"nStartupTrials": 1, "nWarmupSteps": 2},
            }
        },
        budget={"maxTrials": 2},
    ),
    Scenario(
        "sc-cancel",
        "if N == 0: time.sleep(0.5); report(accuracy=0.99)\nelse: time.sleep(60)\n",
        {0: OK, 1: Outcome("Pending", "Cancelled", r"cancelled: trial {study}-0000 met the goal")},
        Outcome("Succeeded", "GoalReached", r"trial {study}-0000 met the goal"),
        spec={"goal": {"accuracy": 0.9}},
        budget={"maxTrials": 2, "parallelism": 2},
    ),
    Scenario(
        "sc-retry",
        "mark = os.path.join(os.environ['SCENARIO_MARKERS'], os.environ['TRADEOFF_TRIAL'])\n"
        "if not os.path.exists(mark):\n"
        "    open(mark, 'w').close()\n"
        "    sys.exit('first attempt fails')\n"
        "report(accuracy=0.8)\n",
        {0: OK},
        ALL_RAN,
        template={"retries": 1},
        attempts={0: 2},
        failed=0,
    ),
    Scenario(
        "sc-infeasible",
        "report(accuracy=0.9, latency=0.8)\n",
        {0: Outcome("Succeeded", "Infeasible", r"infeasible: latency=0\.8 is above its max 0\.5")},
        ALL_RAN,
        spec={"constraints": [{"metric": "latency", "max": 0.5}]},
    ),
    Scenario(
        "sc-failure-budget",
        # Trial 0 runs long; the others fail at once, one after the other. The third failure
        # ends the study: trial 0 is cancelled, not failed, so exactly 3 trials failed.
        "if N == 0: time.sleep(60)\nsys.exit(f'trial {N} fails')\n",
        {
            0: Outcome(
                "Pending", "Cancelled", r"cancelled: 3 trials failed \(maxFailedTrials is 3\)"
            ),
            1: Outcome("Failed", "Error", "exited with code 1: trial 1 fails"),
            2: Outcome("Failed", "Error", "exited with code 1: trial 2 fails"),
            3: Outcome("Failed", "Error", "exited with code 1: trial 3 fails"),
        },
        Outcome("Failed", "TooManyFailedTrials", r"3 trials failed \(maxFailedTrials is 3\)"),
        budget={"maxTrials": 6, "parallelism": 2, "maxFailedTrials": 3},
        failed=3,
    ),
]


def check(
    scenario: Scenario,
    study: tuple[str, str | None, str | None],
    trials: dict[int, dict[str, Any]],
    failed: int,
) -> list[str]:
    """What differs from the table (empty when the study and every trial match).

    `study` is the study's (state, reason, message); `trials` each trial's status (as
    the API or a record file holds it), by number; `failed` the study's failed count.
    """
    name = scenario.name
    problems = []
    if not scenario.study.matches(*study, name):
        problems.append(f"{name}: study ended {study}, expected {scenario.study}")
    if sorted(trials) != sorted(scenario.trials):
        problems.append(f"{name}: trials {sorted(trials)}, expected {sorted(scenario.trials)}")
    for number, expected in scenario.trials.items():
        s = trials.get(number, {})
        got = (s.get("state", ""), s.get("reason"), s.get("message"))
        if not expected.matches(*got, name):
            problems.append(f"{name}: trial {number} ended {got}, expected {expected}")
    for number, count in scenario.attempts.items():
        if trials.get(number, {}).get("attempts") != count:
            problems.append(f"{name}: trial {number} ran {trials.get(number)} attempts")
    if scenario.failed is not None and failed != scenario.failed:
        problems.append(f"{name}: {failed} trials failed, expected {scenario.failed}")
    return problems

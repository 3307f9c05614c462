"""The trial policy (`tradeoff.api.policy`, `tradeoff.api.pss`): every field family of a
PodSpec that can ask for privilege, at each Pod Security Standard level, and the
ServiceAccounts trials may run as."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from tradeoff.api.policy import LEVELS, TEMPLATE_PATH, TrialPolicy, harden, problem_lines
from tradeoff.api.pss import pod_security_problems
from tradeoff.validate import load_study

REPO = Path(__file__).resolve().parents[2]
P = TEMPLATE_PATH


def container(name: str = "trial", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": "tradeoff:0.1.0", **fields}


def pod(**fields: Any) -> dict[str, Any]:
    return {"containers": [container()], **fields}


def problems(spec: dict[str, Any], level: str = "restricted") -> dict[str, str]:
    found = TrialPolicy(level, ("default",)).template_problems(spec)  # type: ignore[arg-type]
    paths = [path for path, _ in found]
    assert len(paths) == len(set(paths)), f"one line per field: {found}"
    return dict(found)


def with_sc(**sc: Any) -> dict[str, Any]:
    """A pod whose only container has this securityContext."""
    return pod(containers=[container(securityContext=sc)])


C0 = f"{P}.containers[0]"
SC0 = f"{C0}.securityContext"


def test_the_line_the_issue_asks_for() -> None:
    found = TrialPolicy().template_problems(with_sc(privileged=True))
    assert problem_lines(found) == [
        "spec.trialTemplate.pod.containers[0].securityContext.privileged: "
        "not allowed by the trial policy (restricted)"
    ]


def test_a_silent_template_meets_restricted_because_secure_defaults_are_filled_in() -> None:
    silent = pod(initContainers=[container("init")], ephemeralContainers=[container("debug")])
    assert problems(silent) == {}
    # Without the defaults, restricted asks for each of them.
    raw = dict(pod_security_problems(silent, "restricted", P))
    for kind in ("containers", "initContainers", "ephemeralContainers"):
        sc = f"{P}.{kind}[0].securityContext"
        assert raw[f"{sc}.allowPrivilegeEscalation"].startswith("must be false")
        assert raw[f"{sc}.runAsNonRoot"].startswith("must be true")
        assert raw[f"{sc}.seccompProfile.type"].startswith("must be RuntimeDefault or Localhost")
        assert raw[f"{sc}.capabilities.drop"].startswith("must include ALL")
    assert pod_security_problems(silent, "baseline", P) == []


# (the pod, the offending path, what restricted says, whether baseline refuses it too)
CASES: list[tuple[str, dict[str, Any], str, str, bool]] = [
    ("hostNetwork", pod(hostNetwork=True), f"{P}.hostNetwork", "not allowed", True),
    ("hostPID", pod(hostPID=True), f"{P}.hostPID", "not allowed", True),
    ("hostIPC", pod(hostIPC=True), f"{P}.hostIPC", "not allowed", True),
    ("privileged", with_sc(privileged=True), f"{SC0}.privileged", "not allowed", True),
    (
        "privileged-init",
        pod(initContainers=[container("i", securityContext={"privileged": True})]),
        f"{P}.initContainers[0].securityContext.privileged",
        "not allowed",
        True,
    ),
    (
        "privileged-ephemeral",
        pod(ephemeralContainers=[container("e", securityContext={"privileged": True})]),
        f"{P}.ephemeralContainers[0].securityContext.privileged",
        "not allowed",
        True,
    ),
    ("privileged-string", with_sc(privileged="true"), f"{SC0}.privileged", "not allowed", True),
    (
        "cap-sys-admin",
        with_sc(capabilities={"add": ["SYS_ADMIN"]}),
        f"{SC0}.capabilities.add[0]",
        "'SYS_ADMIN' not allowed",
        True,
    ),
    (
        "cap-baseline-set",
        with_sc(capabilities={"add": ["CHOWN"]}),
        f"{SC0}.capabilities.add[0]",
        "'CHOWN' not allowed by the trial policy (restricted); allowed: NET_BIND_SERVICE",
        False,
    ),
    (
        "cap-drop-not-all",
        with_sc(capabilities={"drop": ["NET_RAW"]}),
        f"{SC0}.capabilities.drop",
        "must include ALL",
        False,
    ),
    (
        "host-path",
        pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
        f"{P}.volumes[0].hostPath",
        "not allowed",
        True,
    ),
    (
        "git-repo",
        pod(volumes=[{"name": "src", "gitRepo": {"repository": "x"}}]),
        f"{P}.volumes[0].gitRepo",
        "not allowed",
        True,
    ),
    (
        "nfs",
        pod(volumes=[{"name": "e", "emptyDir": {}}, {"name": "n", "nfs": {"server": "s"}}]),
        f"{P}.volumes[1].nfs",
        "allowed: configMap, csi, downwardAPI, emptyDir, ephemeral",
        False,
    ),
    (
        "host-port",
        pod(containers=[container(ports=[{"containerPort": 80, "hostPort": 80}])]),
        f"{C0}.ports[0].hostPort",
        "80 not allowed",
        True,
    ),
    (
        "host-process-pod",
        pod(securityContext={"windowsOptions": {"hostProcess": True}}),
        f"{P}.securityContext.windowsOptions.hostProcess",
        "not allowed",
        True,
    ),
    (
        "host-process-container",
        with_sc(windowsOptions={"hostProcess": True}),
        f"{SC0}.windowsOptions.hostProcess",
        "not allowed",
        True,
    ),
    (
        "selinux-type",
        with_sc(seLinuxOptions={"type": "spc_t"}),
        f"{SC0}.seLinuxOptions.type",
        "'spc_t' not allowed",
        True,
    ),
    (
        "selinux-user",
        pod(securityContext={"seLinuxOptions": {"user": "system_u"}}),
        f"{P}.securityContext.seLinuxOptions.user",
        "'system_u' not allowed",
        True,
    ),
    (
        "selinux-role",
        with_sc(seLinuxOptions={"role": "sysadm_r"}),
        f"{SC0}.seLinuxOptions.role",
        "'sysadm_r' not allowed",
        True,
    ),
    ("proc-mount", with_sc(procMount="Unmasked"), f"{SC0}.procMount", "'Unmasked'", True),
    (
        "seccomp-pod",
        pod(securityContext={"seccompProfile": {"type": "Unconfined"}}),
        f"{P}.securityContext.seccompProfile.type",
        "'Unconfined' not allowed",
        True,
    ),
    (
        "seccomp-container",
        with_sc(seccompProfile={"type": "Unconfined"}),
        f"{SC0}.seccompProfile.type",
        "'Unconfined' not allowed",
        True,
    ),
    (
        "apparmor",
        with_sc(appArmorProfile={"type": "Unconfined"}),
        f"{SC0}.appArmorProfile.type",
        "'Unconfined' not allowed",
        True,
    ),
    (
        "sysctl",
        pod(securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}),
        f"{P}.securityContext.sysctls[0].name",
        "'kernel.msgmax' not allowed",
        True,
    ),
    (
        "probe-host",
        pod(containers=[container(livenessProbe={"httpGet": {"host": "10.0.0.1", "port": 1}})]),
        f"{C0}.livenessProbe.httpGet.host",
        "'10.0.0.1' not allowed",
        True,
    ),
    (
        "lifecycle-host",
        pod(containers=[container(lifecycle={"preStop": {"tcpSocket": {"host": "node"}}})]),
        f"{C0}.lifecycle.preStop.tcpSocket.host",
        "'node' not allowed",
        True,
    ),
    (
        "escalation",
        with_sc(allowPrivilegeEscalation=True),
        f"{SC0}.allowPrivilegeEscalation",
        "must be false under the trial policy (restricted)",
        False,
    ),
    (
        "non-root-pod",
        pod(securityContext={"runAsNonRoot": False}),
        f"{P}.securityContext.runAsNonRoot",
        "must be true",
        False,
    ),
    (
        "non-root-container",
        with_sc(runAsNonRoot=False),
        f"{SC0}.runAsNonRoot",
        "must be true",
        False,
    ),
    (
        "root-user-pod",
        pod(securityContext={"runAsUser": 0}),
        f"{P}.securityContext.runAsUser",
        "0 not allowed",
        False,
    ),
    ("root-user-container", with_sc(runAsUser=0), f"{SC0}.runAsUser", "0 not allowed", False),
]


@pytest.mark.parametrize(
    ("spec", "path", "says", "baseline"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_field_family_is_judged_at_each_level(
    spec: dict[str, Any], path: str, says: str, baseline: bool
) -> None:
    restricted = problems(spec)
    assert list(restricted) == [path], restricted
    assert says in restricted[path]
    assert restricted[path].count("(restricted)") == 1
    under_baseline = problems(spec, "baseline")
    if baseline:
        assert list(under_baseline) == [path]
        assert "not allowed by the trial policy (baseline)" in under_baseline[path]
    else:
        assert under_baseline == {}
    assert problems(spec, "privileged") == {}


ALLOWED: list[tuple[str, dict[str, Any]]] = [
    ("net-bind-service", with_sc(capabilities={"add": ["NET_BIND_SERVICE"]})),
    ("host-port-zero", pod(containers=[container(ports=[{"containerPort": 80, "hostPort": 0}])])),
    ("host-namespaces-false", pod(hostNetwork=False, hostPID=False, hostIPC=False)),
    ("privileged-false", with_sc(privileged=False)),
    ("core-volumes", pod(volumes=[{"name": "c", "configMap": {"name": "x"}}, {"name": "t"}])),
    ("safe-sysctl", pod(securityContext={"sysctls": [{"name": "net.ipv4.tcp_syncookies"}]})),
    ("seccomp-localhost", with_sc(seccompProfile={"type": "Localhost", "localhostProfile": "p"})),
    ("apparmor-default", with_sc(appArmorProfile={"type": "RuntimeDefault"})),
    ("selinux-container-t", with_sc(seLinuxOptions={"type": "container_t", "level": "s0:c1"})),
    ("proc-mount-default", with_sc(procMount="Default")),
    ("non-root-user", pod(securityContext={"runAsUser": 1000, "runAsGroup": 1000})),
    ("probe-without-host", pod(containers=[container(readinessProbe={"httpGet": {"port": 8}})])),
]


@pytest.mark.parametrize("spec", [a[1] for a in ALLOWED], ids=[a[0] for a in ALLOWED])
def test_what_the_standard_allows_passes_restricted(spec: dict[str, Any]) -> None:
    assert problems(spec) == {}


def test_one_line_per_offending_field_in_a_template_that_asks_for_everything() -> None:
    evil = pod(
        hostNetwork=True,
        hostPID=True,
        volumes=[{"name": "root", "hostPath": {"path": "/"}}],
        securityContext={"runAsUser": 0},
        serviceAccountName="cluster-admin",
        containers=[
            container(securityContext={"privileged": True, "capabilities": {"add": ["ALL"]}})
        ],
        initContainers=[container("init", securityContext={"runAsNonRoot": False})],
    )
    assert list(problems(evil)) == [
        f"{P}.hostNetwork",
        f"{P}.hostPID",
        f"{P}.securityContext.runAsUser",
        f"{P}.volumes[0].hostPath",
        f"{SC0}.privileged",
        f"{SC0}.capabilities.add[0]",
        f"{P}.initContainers[0].securityContext.runAsNonRoot",
        f"{P}.serviceAccountName",
    ]


def test_levels_are_cumulative() -> None:
    for _, spec, *_ in CASES:
        baseline = set(problems(spec, "baseline"))
        assert baseline <= set(problems(spec, "restricted"))
    assert LEVELS == ("privileged", "baseline", "restricted")


def test_a_privileged_container_keeps_privilege_escalation_when_the_policy_allows_it() -> None:
    # The API refuses allowPrivilegeEscalation: false together with privileged or SYS_ADMIN.
    spec = harden(
        {
            "containers": [
                container(securityContext={"privileged": True}),
                container("b", securityContext={"capabilities": {"add": ["SYS_ADMIN"]}}),
                container("c"),
            ]
        }
    )
    a, b, c = (x["securityContext"] for x in spec["containers"])
    assert "allowPrivilegeEscalation" not in a and "allowPrivilegeEscalation" not in b
    assert c["allowPrivilegeEscalation"] is False
    assert b["capabilities"] == {"add": ["SYS_ADMIN"], "drop": ["ALL"]}


def test_harden_fills_nulls_and_survives_malformed_templates() -> None:
    spec = harden(
        {
            "automountServiceAccountToken": None,
            "securityContext": {"runAsNonRoot": None},
            "containers": [container(securityContext=None)],
            "initContainers": ["not-a-container", container("i", securityContext="odd")],
            "ephemeralContainers": [container("e")],
        }
    )
    assert spec["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["containers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["ephemeralContainers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert spec["initContainers"][1]["securityContext"] == "odd"
    # A securityContext that is not a mapping cannot be hardened: restricted refuses it.
    bad = problems(pod(containers=[container(securityContext="odd")]))
    assert f"{SC0}.allowPrivilegeEscalation" in bad


def test_harden_does_not_change_its_input() -> None:
    given = with_sc(capabilities={"add": ["NET_BIND_SERVICE"]})
    before = copy.deepcopy(given)
    harden(given)
    assert given == before


# -- ServiceAccounts ----------------------------------------------------------------------
def accounts(spec: dict[str, Any], *allowed: str, level: str = "restricted") -> list[str]:
    policy = TrialPolicy(level, allowed or ("default",))  # type: ignore[arg-type]
    return problem_lines(policy.template_problems(spec))


def test_only_the_default_account_by_default() -> None:
    assert accounts(pod()) == []
    assert accounts(pod(serviceAccountName="default")) == []
    assert accounts(pod(serviceAccountName="")) == []  # the API's default too
    assert accounts(pod(serviceAccountName="admin")) == [
        f"{P}.serviceAccountName: 'admin' not allowed by the trial policy "
        "(service accounts: default)"
    ]
    assert accounts(pod(serviceAccount="admin")) == [  # the deprecated alias
        f"{P}.serviceAccount: 'admin' not allowed by the trial policy (service accounts: default)"
    ]


def test_listed_accounts_are_allowed_whatever_the_level() -> None:
    assert accounts(pod(serviceAccountName="trainer"), "default", "trainer") == []
    assert accounts(pod(serviceAccountName="admin"), "default", level="privileged") == [
        f"{P}.serviceAccountName: 'admin' not allowed by the trial policy "
        "(service accounts: default)"
    ]


def test_without_default_in_the_list_a_template_must_name_an_account() -> None:
    assert accounts(pod(), "trainer") == [
        f"{P}.serviceAccountName: required by the trial policy: one of trainer "
        "(the namespace's default account is not allowed)"
    ]
    assert accounts(pod(serviceAccountName="trainer"), "trainer") == []


def test_a_token_is_mounted_only_for_an_allowed_account() -> None:
    token = {"automountServiceAccountToken": True}
    assert accounts(pod(**token, serviceAccountName="trainer"), "default", "trainer") == []
    refused = accounts(pod(**token, serviceAccountName="admin"))
    assert refused and refused[0].startswith(f"{P}.serviceAccountName: 'admin'")
    assert harden(pod())["automountServiceAccountToken"] is False


def test_a_policy_needs_a_known_level_and_an_account() -> None:
    with pytest.raises(ValueError, match="level must be one of"):
        TrialPolicy("lenient")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one ServiceAccount"):
        TrialPolicy("restricted", ())
    assert str(TrialPolicy()) == "restricted, service accounts: default"


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_meets_restricted(path: Path) -> None:
    study = load_study(path)
    policy = TrialPolicy(workload_kinds=(("batch/v1", "Job"),))
    assert policy.trial_template_problems(study.spec.trial_template) == []

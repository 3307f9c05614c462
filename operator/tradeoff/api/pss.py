"""The Kubernetes Pod Security Standards, checked on a PodSpec (pure data, no API calls).

`pod_security_problems(spec, level)` gives one `(field path, message)` per offending field
of a PodSpec under the `baseline` or `restricted` profile, as the standard defines them
(kubernetes.io/docs/concepts/security/pod-security-standards, Kubernetes 1.34):

- baseline: no host namespaces, privileged containers, Windows host processes, hostPath
  (or gitRepo) volumes or host ports; capabilities added only from the default set; SELinux
  type from the container types, no SELinux user or role; the default /proc mount; no
  `Unconfined` seccomp or AppArmor profile; sysctls only from the safe set; no `host` in
  probes and lifecycle handlers;
- restricted, in addition: volumes only of the core types; `allowPrivilegeEscalation:
  false`; `runAsNonRoot: true` and no `runAsUser: 0`; seccomp `RuntimeDefault` or
  `Localhost`; capabilities `drop: [ALL]`, only `NET_BIND_SERVICE` added.

Every container kind (containers, initContainers, ephemeralContainers) is checked. A value
is allowed only if the standard lists it: a value of the wrong type is refused too. The
user-namespace relaxations (`hostUsers: false`) are not applied: they are off by default
in Kubernetes, and stricter is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

Level = Literal["privileged", "baseline", "restricted"]
LEVELS: tuple[Level, ...] = ("privileged", "baseline", "restricted")
Problem = tuple[str, str]

CONTAINER_KINDS = ("containers", "initContainers", "ephemeralContainers")
BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD"}
    | {"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)
RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
SAFE_SYSCTLS = frozenset(
    {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies"}
    | {"net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"}
    | {"net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time"}
    | {"net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl"}
    | {"net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
)
SELINUX_TYPES = frozenset(
    {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
)
PROFILE_TYPES = ("RuntimeDefault", "Localhost")
"""Seccomp (restricted) and AppArmor (baseline) profile types allowed."""
RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral"}
    | {"persistentVolumeClaim", "projected", "secret"}
)
BASELINE_FORBIDDEN_VOLUMES = ("hostPath", "gitRepo")
SYS_ADMIN = ("SYS_ADMIN", "CAP_SYS_ADMIN")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HANDLERS = ("postStart", "preStop")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _absent_or_false(value: Any) -> bool:
    return value is None or value is False


def _is_int(value: Any, wanted: Callable[[int], bool]) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and wanted(value)


def escalates(sc: Mapping[str, Any]) -> bool:
    """Whether a container escalates privileges whatever `allowPrivilegeEscalation` says."""
    added = _list(_map(sc.get("capabilities")).get("add"))
    return sc.get("privileged") is True or any(c in SYS_ADMIN for c in added)


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Checker:
    """Collects the problems of one PodSpec under one level."""

    def __init__(self, level: Level, prefix: str) -> None:
        self.level, self.prefix = level, prefix
        self.restricted = level == "restricted"
        self.problems: list[Problem] = []

    def refuse(self, path: str, value: Any = None, allowed: str = "") -> None:
        what = f"{shown(value)} " if value is not None else ""
        also = f"; allowed: {allowed}" if allowed else ""
        self.problems.append((path, f"{what}not allowed by the trial policy ({self.level}){also}"))

    def require(self, path: str, wanted: str) -> None:
        self.problems.append((path, f"must {wanted} under the trial policy ({self.level})"))

    # -- pod level ---------------------------------------------------------------------
    def pod(self, spec: Mapping[str, Any]) -> None:
        p = self.prefix
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if not _absent_or_false(spec.get(field)):
                self.refuse(f"{p}.{field}")
        sc = _map(spec.get("securityContext"))
        self.common(sc, f"{p}.securityContext")
        for i, sysctl in enumerate(_list(sc.get("sysctls"))):
            name = _map(sysctl).get("name")
            if name not in SAFE_SYSCTLS:
                where = f"{p}.securityContext.sysctls[{i}].name"
                self.refuse(where, name, "the safe sysctls of the Pod Security Standards")
        if self.restricted:
            if sc.get("runAsNonRoot") is not None and sc.get("runAsNonRoot") is not True:
                self.require(f"{p}.securityContext.runAsNonRoot", "be true")
            self.run_as_user(sc, f"{p}.securityContext")
            profile = sc.get("seccompProfile")
            if profile is not None and _map(profile).get("type") not in PROFILE_TYPES:
                where = f"{p}.securityContext.seccompProfile.type"
                self.refuse(where, _map(profile).get("type"), " or ".join(PROFILE_TYPES))
        for i, volume in enumerate(_list(spec.get("volumes"))):
            self.volume(_map(volume), f"{p}.volumes[{i}]")

    def volume(self, volume: Mapping[str, Any], path: str) -> None:
        for kind in sorted(set(volume) - {"name"}):
            if kind in BASELINE_FORBIDDEN_VOLUMES:
                self.refuse(f"{path}.{kind}")
            elif self.restricted and kind not in RESTRICTED_VOLUMES:
                self.refuse(f"{path}.{kind}", allowed=", ".join(sorted(RESTRICTED_VOLUMES)))

    # -- shared by the pod's and the containers' securityContext -----------------------
    def common(self, sc: Mapping[str, Any], path: str) -> None:
        if not _absent_or_false(_map(sc.get("windowsOptions")).get("hostProcess")):
            self.refuse(f"{path}.windowsOptions.hostProcess")
        if sc.get("seLinuxOptions") is not None:
            selinux = _map(sc.get("seLinuxOptions"))
            kind = selinux.get("type")
            if kind is not None and kind not in SELINUX_TYPES:
                allowed = ", ".join(sorted(SELINUX_TYPES - {""}))
                self.refuse(f"{path}.seLinuxOptions.type", kind, allowed)
            for field in ("user", "role"):
                if selinux.get(field) not in (None, ""):
                    self.refuse(f"{path}.seLinuxOptions.{field}", selinux.get(field))
        profile = sc.get("seccompProfile")  # restricted: judged where a profile is required
        if not self.restricted and _map(profile).get("type") == "Unconfined":
            self.refuse(f"{path}.seccompProfile.type", "Unconfined")
        if sc.get("appArmorProfile") is not None:
            kind = _map(sc.get("appArmorProfile")).get("type")
            if kind not in PROFILE_TYPES:
                where = f"{path}.appArmorProfile.type"
                self.refuse(where, kind, " or ".join(PROFILE_TYPES))

    def run_as_user(self, sc: Mapping[str, Any], path: str) -> None:
        user = sc.get("runAsUser")
        if user is not None and not _is_int(user, lambda u: u != 0):
            self.refuse(f"{path}.runAsUser", user, "a non-zero user id")

    # -- containers --------------------------------------------------------------------
    def container(self, c: Mapping[str, Any], path: str, pod_sc: Mapping[str, Any]) -> None:
        sc = _map(c.get("securityContext"))
        scp = f"{path}.securityContext"
        if not _absent_or_false(sc.get("privileged")):
            self.refuse(f"{scp}.privileged")
        self.common(sc, scp)
        if sc.get("procMount") not in (None, "Default"):
            self.refuse(f"{scp}.procMount", sc.get("procMount"), "Default")
        self.capabilities(_map(sc.get("capabilities")), f"{scp}.capabilities")
        for i, port in enumerate(_list(c.get("ports"))):
            host_port = _map(port).get("hostPort")
            if host_port is not None and not _is_int(host_port, lambda n: n == 0):
                self.refuse(f"{path}.ports[{i}].hostPort", host_port)
        for probe in _PROBES:
            self.hosts(_map(c.get(probe)), f"{path}.{probe}")
        for handler in _HANDLERS:
            self.hosts(_map(_map(c.get("lifecycle")).get(handler)), f"{path}.lifecycle.{handler}")
        if self.restricted:
            self.restricted_container(sc, scp, pod_sc)

    def capabilities(self, caps: Mapping[str, Any], path: str) -> None:
        allowed = RESTRICTED_CAPABILITIES if self.restricted else BASELINE_CAPABILITIES
        add = caps.get("add")
        if add is not None and not isinstance(add, list):
            self.refuse(f"{path}.add", add)
        for i, cap in enumerate(_list(add)):
            if cap not in allowed:
                self.refuse(f"{path}.add[{i}]", cap, ", ".join(sorted(allowed)))
        if self.restricted and "ALL" not in _list(caps.get("drop")):
            self.require(f"{path}.drop", "include ALL")

    def hosts(self, handler: Mapping[str, Any], path: str) -> None:
        for kind in ("httpGet", "tcpSocket"):
            host = _map(handler.get(kind)).get("host")
            if host not in (None, ""):
                self.refuse(f"{path}.{kind}.host", host)

    def restricted_container(
        self, sc: Mapping[str, Any], path: str, pod_sc: Mapping[str, Any]
    ) -> None:
        escalation = sc.get("allowPrivilegeEscalation")
        # Privileged or SYS_ADMIN containers escalate anyway: they are refused as such.
        if escalation is not False and not (escalation is None and escalates(sc)):
            self.require(f"{path}.allowPrivilegeEscalation", "be false")
        non_root = sc.get("runAsNonRoot")
        if non_root is None:
            if pod_sc.get("runAsNonRoot") is None:  # an explicit pod value is judged there
                self.require(f"{path}.runAsNonRoot", "be true (here or for the pod)")
        elif non_root is not True:
            self.require(f"{path}.runAsNonRoot", "be true")
        self.run_as_user(sc, path)
        profile = sc.get("seccompProfile")
        if profile is None:
            if pod_sc.get("seccompProfile") is None:
                self.require(f"{path}.seccompProfile.type", "be RuntimeDefault or Localhost")
        elif _map(profile).get("type") not in PROFILE_TYPES:
            where = f"{path}.seccompProfile.type"
            self.refuse(where, _map(profile).get("type"), " or ".join(PROFILE_TYPES))


def pod_security_problems(spec: Mapping[str, Any], level: Level, prefix: str) -> list[Problem]:
    """Each field of the PodSpec `spec` (at path `prefix`) that `level` does not allow."""
    if level == "privileged":
        return []
    checker = _Checker(level, prefix)
    checker.pod(spec)
    pod_sc = _map(spec.get("securityContext"))
    for kind in CONTAINER_KINDS:
        for i, container in enumerate(_list(spec.get(kind))):
            checker.container(_map(container), f"{prefix}.{kind}[{i}]", pod_sc)
    return checker.problems

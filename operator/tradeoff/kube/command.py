"""`tradeoff operator`: run the Kubernetes operator (kopf + the official client).

Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 1 if the operator failed,
2 for bad flags or settings (one line on stderr naming the problem).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

__all__ = ["add_arguments", "main"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
log = logging.getLogger("tradeoff.operator")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--namespace",
        "-n",
        action="append",
        metavar="NS",
        help="watch this namespace (repeatable; env TRADEOFF_NAMESPACES=a,b)",
    )
    where.add_argument(
        "--all-namespaces",
        "-A",
        action="store_true",
        help="watch every namespace (env TRADEOFF_ALL_NAMESPACES=true)",
    )
    parser.add_argument("--log-format", choices=["text", "json"], help="log line format")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    parser.add_argument("--health-port", type=int, metavar="PORT", help="serve /healthz, /readyz")
    parser.add_argument(
        "--health-address",
        metavar="ADDR",
        help="address the health port listens on (default 127.0.0.1; in a pod 0.0.0.0)",
    )
    parser.add_argument("--metrics-port", type=int, metavar="PORT", help="serve /metrics")
    parser.add_argument(
        "--metrics-address",
        metavar="ADDR",
        help="address the metrics port listens on (default 127.0.0.1; in a pod 0.0.0.0)",
    )
    parser.add_argument(
        "--economics-config",
        metavar="FILE",
        help="JSON defaults: pricing, carbon, regions, instancePrices, spotDiscount",
    )
    parser.add_argument(
        "--prometheus-url",
        metavar="URL",
        help="Prometheus with Kepler's and OpenCost's series: each trial's energy and its "
        "node's prices are measured there (env TRADEOFF_PROMETHEUS_URL)",
    )
    peering = parser.add_mutually_exclusive_group()
    peering.add_argument(
        "--peering",
        metavar="NAME",
        help="kopf peering object that keeps replicas from acting twice (default: tradeoff)",
    )
    peering.add_argument("--standalone", action="store_true", help="no peering (one replica)")
    parser.add_argument(
        "--priority",
        type=int,
        metavar="N",
        help="peering priority (default: start time in ms, so the newest replica acts)",
    )
    parser.add_argument(
        "--pending-timeout",
        type=float,
        metavar="SECONDS",
        help="fail an attempt whose image cannot be pulled for this long (default 300)",
    )
    parser.add_argument(
        "--trial-policy",
        choices=["restricted", "baseline", "privileged"],
        help="Pod Security Standard every trial pod must meet (default: restricted; "
        "env TRADEOFF_TRIAL_POLICY)",
    )
    parser.add_argument(
        "--trial-service-account",
        action="append",
        metavar="NAME",
        help="a ServiceAccount trial pods may run as (repeatable; default: default; "
        "env TRADEOFF_TRIAL_SERVICE_ACCOUNTS=a,b)",
    )


def _bad(message: str) -> int:
    print(f"tradeoff operator: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def import_kubernetes_client() -> None:
    """Import the kubernetes client without `kubernetes_validate`.

    The client's package imports `kubernetes.dynamic`, which imports `kubernetes_validate`
    (and jsonschema) if it is installed, to check manifests the operator never checks that
    way: about 0.1 s of CPU at every start. It is hidden while the client is imported (a
    `None` in `sys.modules` makes an import fail, as if it were not installed), then
    importable again.
    """
    if "kubernetes" in sys.modules or "kubernetes_validate" in sys.modules:
        return
    sys.modules["kubernetes_validate"] = None  # type: ignore[assignment]
    try:
        import kubernetes  # noqa: F401
    finally:
        del sys.modules["kubernetes_validate"]


def main(args: argparse.Namespace) -> int:
    from tradeoff.kube.collector import hold_collector

    with hold_collector():  # until the start-up is done (`settle_collector`)
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    import_kubernetes_client()
    from tradeoff.kube.settings import SettingsError, settings_from

    for flag in ("health_port", "metrics_port"):
        port = getattr(args, flag)
        if port is not None and not 0 < port < 65536:
            return _bad(f"--{flag.replace('_', '-')}: must be between 1 and 65535, got {port}")
    try:
        settings = settings_from(
            namespaces=args.namespace,
            all_namespaces=args.all_namespaces,
            log_format=args.log_format,
            verbose=args.verbose,
            health_port=args.health_port,
            health_address=args.health_address,
            metrics_port=args.metrics_port,
            metrics_address=args.metrics_address,
            economics_config=args.economics_config,
            peering=args.peering,
            standalone=args.standalone,
            priority=args.priority,
            pending_timeout=args.pending_timeout,
            trial_policy=args.trial_policy,
            trial_service_accounts=args.trial_service_account,
            prometheus_url=args.prometheus_url,
        )
    except SettingsError as error:
        return _bad(str(error))
    from tradeoff.kube.credentials import load_credentials

    try:
        api_client = load_credentials()
    except RuntimeError as error:
        return _bad(str(error))
    begun = None
    if settings.standalone:  # with peering, nothing is read before kopf says to act
        from tradeoff.kube.client import Kube
        from tradeoff.kube.listwatch import head_start

        # The Trials and pods listed while kopf and the engine are imported (about half
        # the start-up's CPU): the server makes the pages meanwhile.
        begun = head_start(Kube(api_client), settings)
    from tradeoff.kube.health import EndpointError
    from tradeoff.kube.run import run_operator

    try:
        asyncio.run(run_operator(settings, api_client, begun))
    except KeyboardInterrupt:
        return EXIT_OK
    except EndpointError as error:
        return _bad(str(error))
    except Exception as error:
        log.error("the operator stopped: %s", error)
        return EXIT_FAILED
    return EXIT_OK

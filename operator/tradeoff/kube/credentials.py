"""The operator's API client: credentials from the pod's service account or a kubeconfig.

Apart from `run` so that the operator can read the API (its first listings) while it
still imports kopf and the engine (`command`).
"""

from __future__ import annotations

from typing import Any

from kubernetes import client, config

from tradeoff.kube.client import configure


def load_credentials() -> Any:
    """An API client from the in-cluster service account, else the kubeconfig, whose
    requests retry by themselves on busy or failing servers (`configure`)."""
    configuration = configure(client.Configuration())
    try:
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call,unused-ignore]
        return client.ApiClient(configuration)
    except config.ConfigException:
        pass
    try:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call,unused-ignore]
        return client.ApiClient(configuration)
    except (config.ConfigException, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise RuntimeError(
            f"no Kubernetes credentials (in-cluster or kubeconfig): {first}"
        ) from None

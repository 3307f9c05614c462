"""Cluster test harness: a Kubernetes API emulator on loopback and a local kubelet.

`Cluster` (in `tests.cluster.harness`) starts both, loads the project's CRDs and writes a
kubeconfig, so the real operator (kopf + the official client) and the real `kubectl` can
talk to it over HTTP.
"""

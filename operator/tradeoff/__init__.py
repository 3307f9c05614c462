"""Tradeoff: Kubernetes-native multi-objective optimisation of accuracy, cost and carbon."""

__version__ = "0.1.0"

"""Belay: a security gate and incident-evidence service for Argo CD."""

__version__ = "0.1.0"

__all__ = ["__version__"]

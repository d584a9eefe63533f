"""The node's HTTP API: signed reports, evidence bundles, health and metrics."""

from .app import create_app

__all__ = ["create_app"]

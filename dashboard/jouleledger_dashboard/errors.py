"""The dashboard's exceptions: each maps to one HTTP status and says what to do."""

from __future__ import annotations


class DashboardError(Exception):
    """Root of the dashboard's errors."""


class BadInput(DashboardError, ValueError):
    """A malformed address, job id, hash, filter or number in a request (HTTP 400)."""

    status = 400


class NotFound(DashboardError, LookupError):
    """Nothing indexed under a well-formed id (HTTP 404)."""

    status = 404


class AssetsMissing(DashboardError, FileNotFoundError):
    """The vendored scripts (uPlot, htmx) are neither in the package nor in node_modules."""

"""The package's one exception root.

Everything the node raises on purpose derives from `OracleError`, so callers (the CLI, the
HTTP handlers) can tell an operational failure from a programming error. `type` and
`http_status` drive the API's `{"type": ..., "detail": ...}` error body.
"""

from __future__ import annotations


class OracleError(Exception):
    type = "oracle_error"
    http_status = 500


class ConfigError(OracleError):
    """The node configuration is unusable; the CLI exits 2."""

    type = "config_error"


class KeyLoadError(OracleError):
    """A signing key could not be loaded. Messages never contain key material."""

    type = "key_error"


class EvidenceError(OracleError):
    """The evidence log is inconsistent or belongs to another node."""

    type = "evidence_error"


class BundleFormatError(OracleError):
    """An evidence bundle is not a bundle at all (bad input, as opposed to bad evidence)."""

    type = "bad_bundle"
    http_status = 400


class ReportFormatError(OracleError):
    """A signed report's JSON is malformed."""

    type = "bad_report"
    http_status = 400


class NotFound(OracleError):
    type = "not_found"
    http_status = 404


class BadRequest(OracleError):
    type = "bad_request"
    http_status = 400


class Unauthorized(OracleError):
    type = "unauthorized"
    http_status = 401


class Forbidden(OracleError):
    type = "forbidden"
    http_status = 403


class PeerError(OracleError):
    """A peer node could not be reached or answered nonsense."""

    type = "peer_error"
    http_status = 502


class SubmissionError(OracleError):
    """A report set could not be submitted (transport failure, revert, failed receipt)."""

    type = "submission_error"
    http_status = 502


class SubmissionUnauthorized(SubmissionError):
    """The relay refuses our API key (401/403): the set may pass later, but the node is misconfigured
    until its key is fixed — an error in its health, not a quiet retry."""

    type = "submission_unauthorized"


class SubmissionRejected(SubmissionError):
    """The chain (or relay) refuses this report set for good; resending it cannot help."""

    type = "submission_rejected"
    http_status = 422

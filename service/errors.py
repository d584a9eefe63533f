"""The service package's one exception root. Each error carries its HTTP status and a short
machine-readable `type`; one handler renders every error as `{"type": ..., "detail": ...}`."""

from __future__ import annotations


class ServiceError(Exception):
    status = 500
    type = "internal_error"

    def __init__(self, detail: str, *, type: str | None = None, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if type is not None:
            self.type = type
        if status is not None:
            self.status = status


class BadRequest(ServiceError):
    status, type = 400, "bad_request"


class Unauthorized(ServiceError):
    status, type = 401, "unauthorized"


class Forbidden(ServiceError):
    status, type = 403, "forbidden"


class NotFound(ServiceError):
    status, type = 404, "not_found"


class Conflict(ServiceError):
    status, type = 409, "conflict"


class Unprocessable(ServiceError):
    status, type = 422, "unprocessable"


class ChainError(ServiceError):
    """The chain refused a transaction (decoded revert) or could not be reached."""

    status, type = 502, "chain_error"

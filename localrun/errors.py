"""Errors the service raises; each API family turns them into its own dialect."""

from __future__ import annotations


class StartupError(RuntimeError):
    """The daemon cannot start for a reason the user can fix (e.g. its port is taken)."""


class ServiceError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Invalid(ServiceError):
    status = 400
    code = "invalid"


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"


class NotFound(ServiceError):
    status = 404
    code = "not_found"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class TooLarge(ServiceError):
    status = 413
    code = "too_large"


class NoSpace(ServiceError):
    status = 507
    code = "no_space"

"""Errors the service raises; each API family gives them its own HTTP status and shape."""

from __future__ import annotations


class StartupError(RuntimeError):
    """The daemon cannot start for a reason the user can fix (e.g. its port is taken)."""


class ServiceError(Exception):
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Invalid(ServiceError):
    code = "invalid"


class Unauthorized(ServiceError):
    code = "unauthorized"


class Forbidden(ServiceError):
    code = "forbidden"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class TooLarge(ServiceError):
    code = "too_large"


class NoSpace(ServiceError):
    code = "no_space"

"""The error middleware each family mounts with its own renderer and status codes."""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Mapping

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

from localrun.api.common import Handler
from localrun.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NoSpace,
    NotFound,
    ServiceError,
    TooLarge,
    Unauthorized,
)

log = logging.getLogger("localrun.api")

Renderer = Callable[[int, str, str], web.Response]

STATUSES: Mapping[type[ServiceError], int] = {
    Invalid: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    NoSpace: 507,
}

HTTP_CODES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    507: "no_space",
}


def status_of(exc: ServiceError, overrides: Mapping[type[ServiceError], int]) -> int:
    for kind in type(exc).__mro__:
        if kind in overrides:
            return overrides[kind]
        if kind in STATUSES:
            return STATUSES[kind]
    return 400


def error_middleware(
    render: Renderer, overrides: Mapping[type[ServiceError], int] | None = None
) -> Middleware:
    """Every failure under the family leaves as JSON in its shape, never HTML or a bare 500."""
    statuses = dict(overrides or {})

    @web.middleware
    async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ServiceError as exc:
            return render(status_of(exc, statuses), exc.code, exc.message)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            code = HTTP_CODES.get(exc.status, "error")
            text = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else None
            return render(exc.status, code, text or exc.reason)
        except HttpProcessingError as exc:  # from aiohttp's parsers, after the headers
            status = exc.code if 400 <= exc.code < 500 else 400
            return render(status, HTTP_CODES.get(status, "invalid"), exc.message or "bad request")
        except (ConnectionResetError, TimeoutError):
            raise
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                log.exception("unhandled error on %s %s", request.method, request.path)
                return render(500, "internal", "internal error; the daemon log has the details")
            log.error("disk full on %s %s: %s", request.method, request.path, exc)
            return render(507, "no_space", "the disk holding localrun's data is full")
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            return render(500, "internal", "internal error; the daemon log has the details")

    return errors

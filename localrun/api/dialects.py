"""Which API family a path belongs to, and the middleware that answers errors in its dialect."""

from __future__ import annotations

import errno
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from localrun.errors import ServiceError

log = logging.getLogger("localrun.api")

Renderer = Callable[[int, str, str], web.Response]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Dialect:
    name: str
    matches: Callable[[str], bool]
    render: Renderer


def native_error(status: int, code: str, message: str) -> web.Response:
    body = {"error": {"status": status, "code": code, "message": message}}
    return web.json_response(body, status=status)


NATIVE = Dialect("localrun", lambda path: True, native_error)
_DIALECTS: list[Dialect] = []


def register(dialect: Dialect) -> None:
    """Add a dialect; registering one of the same name again replaces it (apps built twice)."""
    _DIALECTS[:] = [d for d in _DIALECTS if d.name != dialect.name]
    _DIALECTS.append(dialect)


def dialect_for(path: str) -> Dialect:
    for dialect in _DIALECTS:
        if dialect.matches(path):
            return dialect
    return NATIVE


_HTTP_CODES = {
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


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as JSON in the family's own shape, never as HTML or a bare 500."""
    dialect = dialect_for(request.path)
    try:
        return await handler(request)
    except ServiceError as exc:
        return dialect.render(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "error")
        message = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason
        return dialect.render(exc.status, code, message or exc.reason)
    except json.JSONDecodeError as exc:
        return dialect.render(400, "invalid", f"the request body is not valid JSON: {exc}")
    except (ConnectionResetError, TimeoutError):
        raise
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            log.exception("unhandled error on %s %s", request.method, request.path)
            return dialect.render(500, "internal", "internal error; the daemon log has the details")
        log.error("disk full on %s %s: %s", request.method, request.path, exc)
        return dialect.render(507, "no_space", "the disk holding localrun's data is full")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return dialect.render(500, "internal", "internal error; the daemon log has the details")

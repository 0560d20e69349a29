"""Who is looking: the token pasted at login, kept in an HttpOnly, SameSite=Strict cookie, and
the CSRF token (a double-submit cookie) every form carries."""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web

from localrun.api.common import service
from localrun.errors import Forbidden, Unauthorized

SESSION = "localrun_session"
CSRF = "localrun_csrf"
MAX_TOKEN = 512


def _cookie(response: web.StreamResponse, request: web.Request, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Strict",
        secure=service(request).settings.tls,
        path="/",
    )


async def owner(request: web.Request) -> str | None:
    """The owner of the session cookie's token, None without a valid one."""
    token = request.cookies.get(SESSION, "")
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        return await service(request).owner_of(token)
    except Unauthorized:
        return None


async def required(request: web.Request) -> str:
    found = await owner(request)
    if found is None:
        raise Unauthorized("log in first")
    return found


def csrf_token(request: web.Request) -> tuple[str, bool]:
    """The CSRF token of this browser (its cookie's value), or a new one, and whether it is
    new (then remember_csrf must set it)."""
    found = request.cookies.get(CSRF, "")
    if found and len(found) <= 64:
        return found, False
    return secrets.token_urlsafe(24), True


def remember_csrf(request: web.Request, response: web.StreamResponse, token: str) -> None:
    _cookie(response, request, CSRF, token)


def check_csrf(request: web.Request, fields: dict[str, str]) -> None:
    cookie = request.cookies.get(CSRF, "")
    given = fields.get("csrf", "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise Forbidden("the form's CSRF token is missing or wrong: reload the page and retry")


def log_in(request: web.Request, response: web.StreamResponse, token: str) -> None:
    _cookie(response, request, SESSION, token)


def log_out(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION, path="/")

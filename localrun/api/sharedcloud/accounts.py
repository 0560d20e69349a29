"""Logins and the account: api-token-auth and users."""

from __future__ import annotations

from aiohttp import web

from localrun.api.common import form_fields, service
from localrun.api.keys import SETTINGS
from localrun.api.sharedcloud.common import owner, required, route
from localrun.api.sharedcloud.shapes import account_json
from localrun.errors import Forbidden, NotFound
from localrun.service.accounts import Throttled

SIGNUP_OFF = (
    "Sign-up over the API is off on this host: an administrator makes accounts with "
    "`localrun user create NAME` (or sets open_signup)."
)


@route("POST", "/api-token-auth")
async def login(request: web.Request) -> web.Response:
    fields = await form_fields(request)
    username, password = required(fields, "username"), required(fields, "password")
    try:
        token = await service(request).accounts.login(username, password, request.remote or "")
    except Throttled as exc:
        return web.json_response(
            {"detail": exc.message},
            status=429,
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    return web.json_response({"token": token})


@route("POST", "/users")
async def create_user(request: web.Request) -> web.Response:
    if not request.config_dict[SETTINGS].open_signup:
        raise Forbidden(SIGNUP_OFF)
    fields = await form_fields(request)
    username, password = required(fields, "username"), required(fields, "password")
    user = await service(request).accounts.create(
        username, password, fields.get("email", ""), claim=False
    )
    return web.json_response(account_json(user), status=201)


@route("GET", "/users")
async def list_users(request: web.Request) -> web.Response:
    who = await owner(request)
    try:
        user = await service(request).accounts.of_owner(who)
    except NotFound:
        return web.json_response([])
    return web.json_response([account_json(user)])


@route("GET", "/users/account")
async def get_account(request: web.Request) -> web.Response:
    user = await service(request).accounts.of_owner(await owner(request))
    return web.json_response(account_json(user))


@route("PATCH", "/users/account")
async def update_account(request: web.Request) -> web.Response:
    who = await owner(request)
    fields = await form_fields(request)
    user = await service(request).accounts.update(
        who,
        email=fields.get("email"),
        username=fields.get("username") or None,
        password=fields.get("password") or None,
    )
    return web.json_response(account_json(user))


@route("DELETE", "/users/account")
async def delete_account(request: web.Request) -> web.Response:
    await service(request).accounts.delete(await owner(request))
    return web.Response(status=204)

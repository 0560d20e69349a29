from __future__ import annotations

import errno
from typing import Any

from aiohttp import web

from localrun.api.errors import error_middleware, status_of
from localrun.api.native.shapes import render_error
from localrun.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unauthorized


def detail(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"detail": message, "code": code}, status=status)


async def test_unexpected_exception_is_a_json_500(aiohttp_client: Any) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app = web.Application(middlewares=[error_middleware(render_error)])
    app.router.add_get("/x", boom)
    client = await aiohttp_client(app)
    resp = await client.get("/x")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"]["code"] == "internal"
    assert "secret" not in body["error"]["message"]


async def test_a_full_disk_is_a_json_507_and_other_os_errors_hide_their_paths(
    aiohttp_client: Any,
) -> None:
    async def full(request: web.Request) -> web.Response:
        raise OSError(errno.ENOSPC, "No space left on device")

    async def other(request: web.Request) -> web.Response:
        raise PermissionError(errno.EACCES, "Permission denied", "/secret/path")

    app = web.Application(middlewares=[error_middleware(render_error)])
    app.router.add_get("/x", full)
    app.router.add_get("/y", other)
    client = await aiohttp_client(app)
    resp = await client.get("/x")
    assert resp.status == 507
    assert (await resp.json())["error"]["code"] == "no_space"
    resp = await client.get("/y")
    assert resp.status == 500 and "/secret" not in await resp.text()


async def test_each_sub_application_answers_in_its_own_dialect(aiohttp_client: Any) -> None:
    async def missing(request: web.Request) -> web.Response:
        raise NotFound("no run r1")

    family = web.Application(middlewares=[error_middleware(detail, {Unauthorized: 403})])
    family.router.add_get("/runs/{id}", missing)
    app = web.Application(middlewares=[error_middleware(render_error)])
    app.add_subapp("/family", family)
    client = await aiohttp_client(app)
    resp = await client.get("/family/runs/r1")
    assert resp.status == 404 and await resp.json() == {"detail": "no run r1", "code": "not_found"}
    unrouted = await client.get("/family/nothing-here")
    assert unrouted.status == 404 and "detail" in await unrouted.json()
    wrong_method = await client.delete("/family/runs/r1")
    assert wrong_method.status == 405 and "detail" in await wrong_method.json()
    outside = await client.get("/elsewhere")
    assert outside.status == 404 and (await outside.json())["error"]["code"] == "not_found"


def test_statuses_come_from_the_family_with_defaults() -> None:
    class Special(Invalid):
        pass

    assert status_of(Invalid("x"), {}) == 400
    assert status_of(Special("x"), {}) == 400
    assert status_of(Unauthorized("x"), {}) == 401
    assert status_of(Unauthorized("x"), {Unauthorized: 403}) == 403
    assert status_of(Forbidden("x"), {}) == 403
    assert status_of(Conflict("x"), {}) == 409
    assert status_of(ServiceError("x"), {}) == 400

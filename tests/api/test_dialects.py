from __future__ import annotations

import errno
from typing import Any

from aiohttp import web

from localrun.api.dialects import Dialect, dialect_for, errors_middleware, native_error, register


async def test_unexpected_exception_is_a_json_500(aiohttp_client: Any) -> None:
    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret detail")

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_get("/x", boom)
    client = await aiohttp_client(app)
    resp = await client.get("/x")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"]["code"] == "internal"
    assert "secret" not in body["error"]["message"]


async def test_a_full_disk_is_a_json_507_in_the_family_dialect(aiohttp_client: Any) -> None:
    async def full(request: web.Request) -> web.Response:
        raise OSError(errno.ENOSPC, "No space left on device")

    async def other(request: web.Request) -> web.Response:
        raise PermissionError(errno.EACCES, "Permission denied", "/secret/path")

    app = web.Application(middlewares=[errors_middleware])
    app.router.add_get("/localrun/v1/x", full)
    app.router.add_get("/localrun/v1/y", other)
    client = await aiohttp_client(app)
    resp = await client.get("/localrun/v1/x")
    assert resp.status == 507
    assert (await resp.json())["error"]["code"] == "no_space"
    resp = await client.get("/localrun/v1/y")
    assert resp.status == 500 and "/secret" not in await resp.text()


def test_a_registered_dialect_answers_for_its_paths() -> None:
    def render(status: int, code: str, message: str) -> web.Response:
        return web.json_response({"detail": message}, status=status)

    register(Dialect("test-only", lambda path: path.startswith("/only-test/"), render))
    assert dialect_for("/only-test/a").name == "test-only"
    assert dialect_for("/localrun/v1/runs").render is native_error
